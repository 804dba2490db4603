/**
 * Turns the rounds of a run into figures: per (body, config) the throughput, latency percentiles,
 * peak RSS and gateway CPU per request, ratios to (a), the Little's-law check, the targets, and the
 * soak. Writes `bench/results/latest.json` (atomically: a half-written file must not look like a
 * result) and renders the markdown that goes into bench/README.md.
 *
 * Quiet rounds: the bench runs on shared machines. Other jobs come and go in bursts of seconds and,
 * on 2 cores, take up to half the machine, moving a cell's throughput by ±50%. Every cell records
 * how many cores other processes used meanwhile (`foreignCores`); figures are computed from the
 * quiet cells (≤ `maxForeign`) when there are enough of them, and say so when there are not. The
 * selection uses the load on the machine, never the result, so it cannot favour a configuration.
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
  /** CPU cores busy on the machine during the cell beyond the bench's own processes (other jobs); undefined off Linux. */
  foreignCores?: number;
  /** How many times the cell was measured (re-measured while other jobs were busy); the quietest attempt is kept. */
  attempts: number;
}

export interface CellSummary {
  body: BodyName;
  config: ConfigId;
  label: string;
  rounds: number;
  /** Rounds the figures below come from: the quiet ones, or all when too few were quiet (`noisy`). */
  roundsUsed: number;
  noisy: boolean;
  completed: number;
  /** Completed requests over measured time, over the rounds used. */
  rps: number;
  /** Half the min-max spread of the per-round throughputs used, relative to their mean. */
  rpsSpread: number;
  /** Gateway CPU time per request, µs (user + system, all threads): what a request costs the gateway. */
  gwCpuUsPerReq: number;
  /** Gateway CPU time over wall time: near 1.0 (V8's GC threads can take it past) means the gateway was the bottleneck. */
  gwUtil: number;
  /** Mean cores used by other processes during the rounds used. */
  foreignCores?: number;
  p50: number;
  p99: number;
  meanMs: number;
  /** connections ÷ throughput: what the mean latency must be if every connection was always busy. */
  littleMs: number;
  littleDelta: number;
  littleOk: boolean;
  /** Peak over all rounds (memory does not care about neighbours). */
  peakRssMb: number;
  /**
   * Ratios to (a) on the same body. `rps` is the median over rounds of this round's throughput over
   * (a)'s in the same round: paired, so whatever slowed a round slowed both.
   */
  ratio: { rps?: number; p50?: number; p99?: number; rss?: number; cpu?: number };
  /** The per-round throughput ratios to (a) behind `ratio.rps`. */
  rpsRatioRounds: number[];
  serviceCallsPerReq: number;
  forwardedKbPerReq: number;
  non200: number;
  errors: number;
  /** Upstream requests ≠ completed, a Content-Length mismatch upstream, a refused compress call, a warning. */
  integrityProblems: string[];
  decisions: Record<string, number>;
}

export interface Target {
  what: string;
  body: BodyName;
  /** Median over rounds of the paired per-round throughput ratio. */
  value: number;
  /** Lowest and highest per-round ratio. */
  range: [number, number];
  rounds: number;
  noisy: boolean;
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
/** Fewer quiet rounds than this and the figures use every round (marked noisy). */
const MIN_QUIET = 3;

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

export const isQuiet = (c: RoundCell, maxForeign: number) => c.foreignCores === undefined || c.foreignCores <= maxForeign;
const rpsOf = (c: RoundCell) => c.load.completed / (c.load.elapsedMs / 1000);
const sumStatuses = (c: RoundCell) => Object.values(c.load.statuses).reduce((a, b) => a + b, 0);

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The quiet ones among `cells` when there are enough (all of them when every round was asked for fewer), else all. */
function pick<T>(all: T[], quiet: T[]): { used: T[]; noisy: boolean } {
  const enough = quiet.length >= Math.min(MIN_QUIET, all.length);
  return enough ? { used: quiet, noisy: false } : { used: all, noisy: true };
}

/**
 * Per round, throughput of `x` over throughput of `y` in the same round, from rounds where both
 * cells were quiet (or all rounds, flagged, when too few were).
 */
export function pairedRatios(cells: RoundCell[], body: BodyName, x: ConfigId, y: ConfigId, maxForeign: number): { ratios: number[]; noisy: boolean } {
  const all: number[] = [];
  const quiet: number[] = [];
  for (const c of cells) {
    if (c.body !== body || c.config !== x) continue;
    const other = cells.find((o) => o.body === body && o.config === y && o.round === c.round);
    if (!other) continue;
    const r = rpsOf(c) / rpsOf(other);
    all.push(r);
    if (isQuiet(c, maxForeign) && isQuiet(other, maxForeign)) quiet.push(r);
  }
  const { used, noisy } = pick(all, quiet);
  return { ratios: used, noisy };
}

export function summarise(cells: RoundCell[], connections: number, maxForeign: number, littleTolerance = 0.2): CellSummary[] {
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
    const { used, noisy } = pick(
      g,
      g.filter((c) => isQuiet(c, maxForeign)),
    );
    let completed = 0;
    let elapsed = 0;
    let sum = 0;
    let gwCpu = 0;
    let foreign = 0;
    let foreignN = 0;
    const total = used.reduce((n, c) => n + c.load.latencies.length, 0);
    const all = new Float64Array(total);
    let at = 0;
    for (const c of used) {
      completed += c.load.completed;
      elapsed += c.load.elapsedMs;
      gwCpu += c.gateway.cpuUs;
      for (const v of c.load.latencies) {
        all[at++] = v;
        sum += v;
      }
      if (c.foreignCores !== undefined) {
        foreign += c.foreignCores;
        foreignN++;
      }
    }
    all.sort();

    // Integrity and what-happened counts cover every round, quiet or not.
    let upReq = 0;
    let upBytes = 0;
    let calls = 0;
    let non200 = 0;
    let errors = 0;
    let peak = 0;
    let requests = 0;
    const problems: string[] = [];
    const decisions: Record<string, number> = {};
    for (const c of g) {
      requests += c.load.completed;
      upReq += c.upstream.requests;
      upBytes += c.upstream.bytes;
      calls += c.headroom.requests;
      non200 += sumStatuses(c);
      errors += c.load.errors;
      peak = Math.max(peak, c.gateway.peakRss);
      for (const [k, v] of Object.entries(c.gateway.decisions)) decisions[k] = (decisions[k] ?? 0) + v;
      if (c.upstream.requests !== c.load.completed - sumStatuses(c)) problems.push(`round ${c.round + 1}: upstream saw ${c.upstream.requests}, load completed ${c.load.completed}`);
      if (c.upstream.bad > 0) problems.push(`round ${c.round + 1}: ${c.upstream.bad} bodies upstream did not match their Content-Length`);
      if (c.headroom.bad > 0) problems.push(`round ${c.round + 1}: ${c.headroom.bad} compress calls the stand-in refused`);
      if (c.gateway.warnings > 0) problems.push(`round ${c.round + 1}: middleware logged ${c.gateway.warnings} warnings`);
    }

    const rps = completed / (elapsed / 1000);
    const perRound = used.map(rpsOf);
    const meanRound = perRound.reduce((a, b) => a + b, 0) / perRound.length;
    const meanMs = sum / Math.max(1, total);
    const littleMs = (connections / rps) * 1000;
    const littleDelta = Math.abs(meanMs - littleMs) / littleMs;
    out.push({
      body,
      config,
      label: CONFIGS[config].label,
      rounds: g.length,
      roundsUsed: used.length,
      noisy,
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
      serviceCallsPerReq: requests ? calls / requests : 0,
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
    const { ratios } = pairedRatios(cells, s.body, s.config, 'a', maxForeign);
    s.rpsRatioRounds = ratios;
    s.ratio = {
      rps: ratios.length ? median(ratios) : s.rps / base.rps,
      p50: s.p50 / base.p50,
      p99: s.p99 / base.p99,
      rss: s.peakRssMb / base.peakRssMb,
      cpu: s.gwCpuUsPerReq / base.gwCpuUsPerReq,
    };
  }
  return out;
}

/** The project's throughput targets, each judged on the median of paired per-round ratios. */
export function checkTargets(cells: RoundCell[], maxForeign: number): Target[] {
  const targets: Target[] = [];
  const bodies = [...new Set(cells.map((c) => c.body))];
  const check = (body: BodyName, x: ConfigId, y: ConfigId, threshold: number, what: string) => {
    const { ratios, noisy } = pairedRatios(cells, body, x, y, maxForeign);
    if (ratios.length === 0) return;
    const value = median(ratios);
    targets.push({ what, body, value, range: [Math.min(...ratios), Math.max(...ratios)], rounds: ratios.length, noisy, threshold, met: value >= threshold });
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
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const o = report.options;
  const lines: string[] = [];
  lines.push(`Command: \`${report.command}\``);
  lines.push('');
  lines.push(`Machine: ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memGb} GB RAM, ${m.kernel}, Node ${m.node}. Run ${report.startedAt}.`);
  lines.push('');
  lines.push(
    `Load: ${o.connections} keep-alive connections, ${o.durationS} s per cell, ${o.rounds} rounds (configurations alternated, order rotated per round), ${o.warmupS} s warm-up per gateway; ` +
      `a cell is quiet when other processes used ≤ ${o.maxForeign} cores during it.`,
  );
  lines.push('');
  lines.push(
    '| body | config | quiet rounds | req/s | ×(a) | p50 ms | ×(a) | p99 ms | ×(a) | mean ms / conn÷req/s | peak RSS MB | ×(a) | gw CPU µs/req | ×(a) | gw CPU | calls/req | fwd KB/req | non-200/err |',
  );
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const c of report.cells) {
    const little = c.littleOk ? 'ok' : `**off ${Math.round(c.littleDelta * 100)}%**`;
    const quiet = c.noisy ? `**${c.roundsUsed}/${c.rounds} (all; too few quiet)**` : `${c.roundsUsed}/${c.rounds}`;
    lines.push(
      `| ${c.body} | (${c.config}) ${c.label} | ${quiet} | ${int(c.rps)} ±${Math.round(c.rpsSpread * 100)}% | ${f2(c.ratio.rps)} | ${f1(c.p50)} | ${f2(c.ratio.p50)} | ${f1(c.p99)} | ${f2(c.ratio.p99)} | ` +
        `${f1(c.meanMs)} / ${f1(c.littleMs)} ${little} | ${f1(c.peakRssMb)} | ${f2(c.ratio.rss)} | ${int(c.gwCpuUsPerReq)} | ${f2(c.ratio.cpu)} | ${Math.round(c.gwUtil * 100)}% | ` +
        `${f2(c.serviceCallsPerReq)} | ${f1(c.forwardedKbPerReq)} | ${c.non200}/${c.errors} |`,
    );
  }
  const rounds = report.rounds;
  const foreign = rounds.map((c) => c.foreignCores).filter((v): v is number => v !== undefined);
  if (foreign.length) {
    const retried = rounds.filter((c) => c.attempts > 1).length;
    lines.push('');
    lines.push(
      `Other processes used ${(foreign.reduce((a, b) => a + b, 0) / foreign.length).toFixed(2)} of ${m.nproc} cores on average during the kept cells; ` +
        `${rounds.filter((c) => c.foreignCores !== undefined && c.foreignCores <= (o.maxForeign as number)).length} of ${rounds.length} cells were quiet; ${retried} cells were re-measured.`,
    );
  }
  lines.push('');
  if (report.targets.length) {
    lines.push('| target | body | measured (median of paired rounds) | lowest–highest round | rounds | needed | met |');
    lines.push('|---|---|--:|--:|--:|--:|:-:|');
    for (const t of report.targets) {
      lines.push(
        `| ${t.what} | ${t.body} | ${t.value.toFixed(3)} | ${t.range[0].toFixed(2)}–${t.range[1].toFixed(2)} | ${t.rounds}${t.noisy ? ' (noisy)' : ''} | ${t.threshold.toFixed(2)} | ${t.met ? 'yes' : '**no**'} |`,
      );
    }
    lines.push('');
  }
  if (report.soak) {
    const s = report.soak;
    lines.push(
      `Soak: (${s.config}) on ${s.body} for ${s.durationS.toFixed(0)} s at ${int(s.rps)} req/s (${s.non200} non-200, ${s.errors} errors): gateway RSS ${f1(s.firstMb)} MB (mean of the first sixth) → ${f1(s.lastMb)} MB (last sixth), peak ${f1(s.peakMb)} MB: growth ${(s.growth * 100).toFixed(1)}% (target < 10%: ${s.met ? 'met' : '**not met**'}).`,
    );
    lines.push('');
  }
  const problems = report.cells.flatMap((c) => c.integrityProblems.map((p) => `(${c.config}) ${c.body}: ${p}`));
  if (problems.length) {
    lines.push('Integrity problems (figures above are suspect):');
    for (const p of problems) lines.push(`- ${p}`);
    lines.push('');
  }
  const decisions = report.cells
    .filter((c) => Object.keys(c.decisions).length)
    .map(
      (c) =>
        `(${c.config}) ${c.body}: ${Object.entries(c.decisions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
    );
  if (decisions.length) {
    lines.push('What the middleware decided (onResult status:reason, all measured rounds):');
    for (const d of decisions) lines.push(`- ${d}`);
    lines.push('');
  }
  return lines.join('\n');
}
