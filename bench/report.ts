/**
 * Turns the rounds of a run into figures: per (body, config) cell the pooled throughput and
 * latency percentiles, the peak RSS, ratios to (a), the Little's-law check, the targets, and the
 * soak. Writes `bench/results/latest.json` (atomically: a half-written file must not look like a
 * result) and renders the markdown that goes into bench/README.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIGS, type ConfigId } from './configs';
import type { BodyName } from './bodies';
import type { LoadResult } from './load';

/** One measured cell of one round, as the orchestrator collected it. */
export interface RoundCell {
  round: number;
  body: BodyName;
  config: ConfigId;
  load: LoadResult;
  gateway: { cpuUs: number; peakRss: number; rss: number; heapUsed: number; decisions: Record<string, number>; warnings: number; memoEntries?: number };
  upstream: { requests: number; bytes: number; bad: number; cpuUs: number };
  headroom: { requests: number; bytes: number; bad: number; cpuUs: number };
  /** CPU cores busy on the machine during the cell beyond the bench's own processes (other users' jobs); undefined off Linux. */
  foreignCores?: number;
}

export interface CellSummary {
  body: BodyName;
  config: ConfigId;
  label: string;
  rounds: number;
  completed: number;
  /** Pooled: all completed requests over all measured time. */
  rps: number;
  /** Half the min-max spread of the per-round throughputs, relative to their mean. */
  rpsSpread: number;
  /** Gateway CPU time per request, µs (user + system): the cost, nearly independent of what else the machine runs. */
  gwCpuUsPerReq: number;
  /** Gateway CPU time over wall time: near 1.0 means the gateway was the bottleneck. */
  gwUtil: number;
  /** Mean CPU cores used by other processes on the machine during this cell's rounds. */
  foreignCores?: number;
  p50: number;
  p99: number;
  meanMs: number;
  /** connections ÷ throughput: what the mean latency must be if every connection was always busy. */
  littleMs: number;
  littleDelta: number;
  littleOk: boolean;
  peakRssMb: number;
  /**
   * Ratios to (a) on the same body. `rps` is the median over rounds of this round's throughput over
   * (a)'s in the same round: paired, so a neighbour's burst that slowed a whole round cancels out.
   */
  ratio: { rps?: number; p50?: number; p99?: number; rss?: number; cpu?: number };
  /** The per-round throughput ratios to (a) behind `ratio.rps`. */
  rpsRatioRounds: number[];
  serviceCallsPerReq: number;
  forwardedKbPerReq: number;
  non200: number;
  errors: number;
  /** Upstream requests ≠ completed, or a Content-Length mismatch upstream: the numbers cannot be trusted. */
  integrityProblems: string[];
  decisions: Record<string, number>;
}

export interface Target {
  what: string;
  body: BodyName;
  /** Median over rounds of the paired per-round throughput ratio. */
  value: number;
  /** Lowest and highest per-round ratio: how much the machine moved the answer. */
  range: [number, number];
  threshold: number;
  met: boolean;
}

export interface SoakResult {
  config: ConfigId;
  body: BodyName;
  durationS: number;
  samplesMb: number[];
  firstMb: number;
  lastMb: number;
  peakMb: number;
  growth: number;
  met: boolean;
  rps: number;
  completed: number;
  non200: number;
  errors: number;
}

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
  memGb: number;
  kernel: string;
}

export interface Report {
  command: string;
  machine: Machine;
  options: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  cells: CellSummary[];
  targets: Target[];
  soak?: SoakResult;
  rounds: Array<Omit<RoundCell, 'load'> & { load: Omit<LoadResult, 'latencies'> & { rps: number } }>;
}

const MB = 1024 * 1024;

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux: os.cpus() is the best we have */
  }
  return { nproc: os.availableParallelism(), cpu, node: process.version, memGb: Math.round(os.totalmem() / 1024 ** 3), kernel: `${os.type()} ${os.release()}` };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function summarise(cells: RoundCell[], connections: number, littleTolerance = 0.2): CellSummary[] {
  const groups = new Map<string, RoundCell[]>();
  for (const c of cells) {
    const k = `${c.body}\0${c.config}`;
    const g = groups.get(k);
    if (g) g.push(c);
    else groups.set(k, [c]);
  }
  const out: CellSummary[] = [];
  for (const g of groups.values()) {
    const { body, config } = g[0];
    let completed = 0;
    let elapsed = 0;
    let sum = 0;
    let upReq = 0;
    let upBytes = 0;
    let calls = 0;
    let non200 = 0;
    let errors = 0;
    let peak = 0;
    let gwCpu = 0;
    let foreign = 0;
    let foreignN = 0;
    const problems: string[] = [];
    const decisions: Record<string, number> = {};
    const total = g.reduce((n, c) => n + c.load.latencies.length, 0);
    const all = new Float64Array(total);
    let at = 0;
    for (const c of g) {
      completed += c.load.completed;
      elapsed += c.load.elapsedMs;
      for (const v of c.load.latencies) {
        all[at++] = v;
        sum += v;
      }
      upReq += c.upstream.requests;
      upBytes += c.upstream.bytes;
      calls += c.headroom.requests;
      non200 += Object.values(c.load.statuses).reduce((a, b) => a + b, 0);
      errors += c.load.errors;
      peak = Math.max(peak, c.gateway.peakRss);
      gwCpu += c.gateway.cpuUs;
      if (c.foreignCores !== undefined) {
        foreign += c.foreignCores;
        foreignN++;
      }
      for (const [k, v] of Object.entries(c.gateway.decisions)) decisions[k] = (decisions[k] ?? 0) + v;
      if (c.upstream.requests !== c.load.completed - non200Of(c)) problems.push(`round ${c.round}: upstream saw ${c.upstream.requests}, load completed ${c.load.completed}`);
      if (c.upstream.bad > 0) problems.push(`round ${c.round}: ${c.upstream.bad} bodies upstream did not match their Content-Length`);
      if (c.headroom.bad > 0) problems.push(`round ${c.round}: ${c.headroom.bad} compress calls the stand-in refused`);
      if (c.gateway.warnings > 0) problems.push(`round ${c.round}: middleware logged ${c.gateway.warnings} warnings`);
    }
    all.sort();
    const rps = completed / (elapsed / 1000);
    const perRound = g.map((c) => c.load.completed / (c.load.elapsedMs / 1000));
    const meanRound = perRound.reduce((a, b) => a + b, 0) / perRound.length;
    const meanMs = sum / Math.max(1, total);
    const littleMs = (connections / rps) * 1000;
    const littleDelta = Math.abs(meanMs - littleMs) / littleMs;
    out.push({
      body,
      config,
      label: CONFIGS[config].label,
      rounds: g.length,
      completed,
      rps,
      rpsSpread: (Math.max(...perRound) - Math.min(...perRound)) / 2 / meanRound,
      gwCpuUsPerReq: completed ? gwCpu / completed : NaN,
      gwUtil: gwCpu / 1000 / elapsed,
      foreignCores: foreignN ? foreign / foreignN : undefined,
      p50: percentile(all, 0.5),
      p99: percentile(all, 0.99),
      meanMs,
      littleMs,
      littleDelta,
      littleOk: littleDelta <= littleTolerance,
      peakRssMb: peak / MB,
      ratio: {},
      rpsRatioRounds: [],
      serviceCallsPerReq: completed ? calls / completed : 0,
      forwardedKbPerReq: upReq ? upBytes / upReq / 1024 : 0,
      non200,
      errors,
      integrityProblems: problems,
      decisions,
    });
  }
  // Ratios to (a) of the same body: the one comparison that cancels the machine out.
  for (const s of out) {
    const base = out.find((x) => x.body === s.body && x.config === 'a');
    if (!base) continue;
    const paired = pairedRatios(cells, s.body, s.config, 'a');
    s.rpsRatioRounds = paired;
    s.ratio = {
      rps: paired.length ? median(paired) : s.rps / base.rps,
      p50: s.p50 / base.p50,
      p99: s.p99 / base.p99,
      rss: s.peakRssMb / base.peakRssMb,
      cpu: s.gwCpuUsPerReq / base.gwCpuUsPerReq,
    };
  }
  return out;
}

const rpsOf = (c: RoundCell) => c.load.completed / (c.load.elapsedMs / 1000);

/**
 * Per round, throughput of `x` over throughput of `y` measured in the same round. Rounds are a few
 * seconds apart at most, so load from other processes on the machine mostly hits both alike.
 */
export function pairedRatios(cells: RoundCell[], body: BodyName, x: ConfigId, y: ConfigId): number[] {
  const out: number[] = [];
  for (const c of cells) {
    if (c.body !== body || c.config !== x) continue;
    const other = cells.find((o) => o.body === body && o.config === y && o.round === c.round);
    if (other) out.push(rpsOf(c) / rpsOf(other));
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Requests that got an answer: non-200s went through the gateway but may not have reached upstream. */
function non200Of(c: RoundCell): number {
  return Object.values(c.load.statuses).reduce((a, b) => a + b, 0);
}

/** The project's throughput targets, each judged on the median of paired per-round ratios. */
export function checkTargets(cells: RoundCell[]): Target[] {
  const targets: Target[] = [];
  const bodies = [...new Set(cells.map((c) => c.body))];
  const check = (body: BodyName, x: ConfigId, y: ConfigId, threshold: number, what: string) => {
    const r = pairedRatios(cells, body, x, y);
    if (r.length === 0) return;
    const value = median(r);
    targets.push({ what, body, value, range: [Math.min(...r), Math.max(...r)], threshold, met: value >= threshold });
  };
  for (const body of bodies) {
    check(body, 'c', 'a', 0.9, '(c) throughput ≥ 0.90 × (a)');
    check(body, "c'", 'a', 0.97, "(c') throughput ≥ 0.97 × (a)");
    check(body, 'd', 'b', 1, '(d) throughput ≥ (b)');
  }
  return targets;
}

export function summariseSoak(config: ConfigId, body: BodyName, samplesBytes: number[], load: LoadResult, maxGrowth = 0.1): SoakResult {
  const mb = samplesBytes.map((b) => b / MB);
  // Means over the first and last sixth (10 s of 60): a GC sawtooth must not read as growth.
  const w = Math.max(1, Math.floor(mb.length / 6));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const firstMb = mean(mb.slice(0, w));
  const lastMb = mean(mb.slice(-w));
  const growth = lastMb / firstMb - 1;
  return {
    config,
    body,
    durationS: load.elapsedMs / 1000,
    samplesMb: mb.map((v) => Math.round(v * 10) / 10),
    firstMb,
    lastMb,
    peakMb: Math.max(...mb),
    growth,
    met: growth < maxGrowth,
    rps: load.completed / (load.elapsedMs / 1000),
    completed: load.completed,
    non200: Object.values(load.statuses).reduce((a, b) => a + b, 0),
    errors: load.errors,
  };
}

export function writeReport(report: Report, file = path.join(__dirname, 'results', 'latest.json')): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(report, null, 2) + '\n');
  fs.renameSync(tmp, file);
  return file;
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(2) : '–');
const int = (v: number) => Math.round(v).toLocaleString('en-US');

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`Command: \`${report.command}\``);
  lines.push('');
  lines.push(`Machine: ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memGb} GB RAM, ${m.kernel}, Node ${m.node}. Run ${report.startedAt}.`);
  const o = report.options;
  lines.push(`Load: ${o.connections} keep-alive connections, ${o.durationS} s per cell, ${o.rounds} rounds (configurations alternated, order rotated per round), ${o.warmupS} s warm-up per gateway.`);
  lines.push('');
  lines.push('| body | config | req/s | ×(a) | p50 ms | ×(a) | p99 ms | ×(a) | mean ms / conn÷req/s | peak RSS MB | ×(a) | gw CPU µs/req | ×(a) | gw util | calls/req | fwd KB/req | non-200/err |');
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const c of report.cells) {
    const little = c.littleOk ? 'ok' : `**off ${Math.round(c.littleDelta * 100)}%**`;
    lines.push(
      `| ${c.body} | (${c.config}) ${c.label} | ${int(c.rps)} ±${Math.round(c.rpsSpread * 100)}% | ${f2(c.ratio.rps)} | ${f1(c.p50)} | ${f2(c.ratio.p50)} | ${f1(c.p99)} | ${f2(c.ratio.p99)} | ${f1(c.meanMs)} / ${f1(c.littleMs)} ${little} | ${f1(c.peakRssMb)} | ${f2(c.ratio.rss)} | ${int(c.gwCpuUsPerReq)} | ${f2(c.ratio.cpu)} | ${Math.round(c.gwUtil * 100)}% | ${f2(c.serviceCallsPerReq)} | ${f1(c.forwardedKbPerReq)} | ${c.non200}/${c.errors} |`,
    );
  }
  const foreign = report.cells.map((c) => c.foreignCores).filter((v): v is number => v !== undefined);
  if (foreign.length) {
    lines.push('');
    lines.push(
      `Other processes on the machine used ${(foreign.reduce((a, b) => a + b, 0) / foreign.length).toFixed(2)} of ${m.nproc} cores on average during the cells (max cell ${Math.max(...foreign).toFixed(2)}).`,
    );
  }
  lines.push('');
  if (report.targets.length) {
    lines.push('| target | body | measured (median of rounds) | lowest–highest round | needed | met |');
    lines.push('|---|---|--:|--:|--:|:-:|');
    for (const t of report.targets) {
      lines.push(`| ${t.what} | ${t.body} | ${t.value.toFixed(3)} | ${t.range[0].toFixed(2)}–${t.range[1].toFixed(2)} | ${t.threshold.toFixed(2)} | ${t.met ? 'yes' : '**no**'} |`);
    }
    lines.push('');
  }
  if (report.soak) {
    const s = report.soak;
    lines.push(
      `Soak: (${s.config}) on ${s.body} for ${s.durationS.toFixed(0)} s at ${int(s.rps)} req/s (${s.non200} non-200, ${s.errors} errors): RSS ${f1(s.firstMb)} MB (mean of first sixth) → ${f1(s.lastMb)} MB (last sixth), peak ${f1(s.peakMb)} MB, growth ${(s.growth * 100).toFixed(1)}% (target < 10%: ${s.met ? 'met' : '**not met**'}).`,
    );
    lines.push('');
  }
  const problems = report.cells.flatMap((c) => c.integrityProblems.map((p) => `(${c.config}) ${c.body}: ${p}`));
  if (problems.length) {
    lines.push('Integrity problems (figures above are suspect):');
    for (const p of problems) lines.push(`- ${p}`);
    lines.push('');
  }
  const decisions = report.cells.filter((c) => Object.keys(c.decisions).length).map((c) => `(${c.config}) ${c.body}: ${Object.entries(c.decisions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (decisions.length) {
    lines.push('What the middleware decided (onResult status:reason, all rounds):');
    for (const d of decisions) lines.push(`- ${d}`);
    lines.push('');
  }
  return lines.join('\n');
}
