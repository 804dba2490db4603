/**
 * Benchmark of the embedded compressor on the shared fixtures and the generated ones.
 *
 *   npx ts-node --transpile-only bench/compressor.ts            # print the results
 *   npx ts-node --transpile-only bench/compressor.ts --write    # also update bench/COMPRESSOR.md
 *
 * Tokens are counted with js-tiktoken (cl100k_base), independent of the gpt-tokenizer the compressor
 * counts with. Each sample goes through the public `compress()` as the content of one `role: "tool"`
 * row. Time is the median of repeated calls with the compressor's own caches emptied before each call
 * (the BPE library's internal merge cache stays warm, as it is in a running service).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { CompressRequest, ContractMessage } from '../lib/contract';
import { compress } from '../lib/compressor/compress';
import { RetentionReport, checkRetention } from '../lib/compressor/retention';
import { clearTokenCountCache, tokenCounterFor } from '../lib/compressor/tokens';
import { clearTransformCache } from '../lib/compressor/transform';

const root = join(__dirname, '..');
const fixtures = join(root, '__tests__', 'fixtures');
const readJson = (path: string) => JSON.parse(readFileSync(join(fixtures, path), 'utf8'));
const readText = (name: string) => readFileSync(join(fixtures, 'compressor', name), 'utf8');

type Kind = 'json' | 'log' | 'listing' | 'code';
interface Sample {
  kind: Kind;
  name: string;
  text: string;
}

function samples(): Sample[] {
  const turn4 = readJson('claude-code-session/turn-4.json').body.messages;
  const agent = readJson('openai-agent/request.json').body.messages;
  return [
    { kind: 'json', name: 'orders.json (claude-code turn-4, tool_result)', text: turn4[3].content[0].content },
    { kind: 'json', name: 'search_tickets (openai-agent, tool row)', text: agent[3].content },
    { kind: 'json', name: 'events.json (generated, 4 planted anomalies)', text: readText('events.json') },
    { kind: 'log', name: 'worker.log (claude-code turn-4, tool_result)', text: turn4[5].content[0].content },
    { kind: 'log', name: 'service.log (generated: ANSI, WARN/ERROR, Python traceback, JS stack)', text: readText('service.log') },
    { kind: 'listing', name: 'grep_repo (openai-agent, tool row)', text: agent[5].content },
    { kind: 'listing', name: 'grep.txt (generated rg -n -C1, context lines)', text: readText('grep.txt') },
    { kind: 'code', name: 'source.ts (generated)', text: readText('source.ts.txt') },
  ];
}

/**
 * The independent counter, loaded only after the timings: its 100k-entry rank tables would otherwise
 * sit in the heap while compress() is timed, and a service process does not carry them.
 */
let cl100k: { encode(text: string, allowed?: string[], disallowed?: string[]): number[] } | undefined;
const tokens = (text: string) => {
  cl100k ??= (require('js-tiktoken') as typeof import('js-tiktoken')).getEncoding('cl100k_base');
  return cl100k.encode(text, [], []).length;
};

function toolRequest(text: string, model: string): CompressRequest {
  return { model, messages: [{ role: 'tool', tool_call_id: 'call_bench', content: text }], config: { protect_recent: 0 } };
}

function compressedText(text: string, model: string): string {
  const content = compress(toolRequest(text, model)).messages[0].content;
  return typeof content === 'string' ? content : text;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Timing {
  /** Median wall-clock milliseconds. */
  wall: number;
  /** Median CPU milliseconds of the process (user + system): what the call costs on a busy machine. */
  cpu: number;
}

function measure(fn: () => void, runs: number, before: () => void = () => undefined): Timing {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    before();
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - start) / 1e6);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** compress() on one request, the compressor's caches emptied before each call (cold) or kept (warm). */
function timeCall(request: CompressRequest, runs: number, cold: boolean): Timing {
  return measure(
    () => compress(request),
    runs,
    cold
      ? () => {
          clearTransformCache();
          clearTokenCountCache();
        }
      : undefined,
  );
}

const pct = (saved: number, before: number) => (before === 0 ? '0.0' : ((100 * saved) / before).toFixed(1));

function main(): void {
  const write = process.argv.includes('--write');
  const runs = 41;
  // Only the encoding the timed calls use is loaded (warmUpTokenizers would load cl100k too).
  const o200k = tokenCounterFor('gpt-4o');
  o200k.count('warm up');
  const all = samples();

  // ---- time: measured first, in a process that holds nothing but the compressor; printed after
  // the token tables.
  const timeLines: string[] = [];
  const timePrint = (line = '') => timeLines.push(line);
  timePrint(`### Time per 100 KB (median of ${runs} calls)`);
  timePrint();
  timePrint(
    '"cold": the compressor\'s caches emptied before every call (a new tool output); "warm": caches kept (the same history sent again next turn). ' +
      'Each cell is wall-clock ms / CPU ms of the process per 100 KB of input; CPU time is what a call costs when other processes compete for the cores. ' +
      'The last column is one o200k BPE count of the input alone (gpt-tokenizer), which every gpt-4o call makes: the part of its time the compressor does not control.',
  );
  timePrint();
  timePrint('| sample | KB | gpt-4o cold (exact o200k counts) | claude cold (estimated counts) | gpt-4o warm | o200k count of the input alone |');
  timePrint('|---|---:|---:|---:|---:|---:|');
  const zero = (): Timing => ({ wall: 0, cpu: 0 });
  const totals = { openai: zero(), claude: zero(), warm: zero(), bpe: zero() };
  let totalKb = 0;
  const add = (into: Timing, t: Timing) => {
    into.wall += t.wall;
    into.cpu += t.cpu;
  };
  const cell = (t: Timing, kb: number) => `${((t.wall * 100) / kb).toFixed(2)} / ${((t.cpu * 100) / kb).toFixed(2)}`;
  // Warm-up: every code path compiled by the JIT before anything is timed, as in a running service
  // (without it the first sample carries the compilation of the whole compressor).
  for (let round = 0; round < 5; round++) {
    for (const sample of all) {
      for (const model of ['gpt-4o', 'claude-opus-4-8']) timeCall(toolRequest(sample.text, model), 1, true);
    }
  }
  for (const sample of all) {
    const kb = Buffer.byteLength(sample.text) / 1024;
    const row = {
      openai: timeCall(toolRequest(sample.text, 'gpt-4o'), runs, true),
      claude: timeCall(toolRequest(sample.text, 'claude-opus-4-8'), runs, true),
      warm: timeCall(toolRequest(sample.text, 'gpt-4o'), runs, false),
      bpe: measure(() => o200k.count(sample.text), runs),
    };
    totalKb += kb;
    add(totals.openai, row.openai);
    add(totals.claude, row.claude);
    add(totals.warm, row.warm);
    add(totals.bpe, row.bpe);
    timePrint(`| ${sample.name} | ${kb.toFixed(1)} | ${cell(row.openai, kb)} | ${cell(row.claude, kb)} | ${cell(row.warm, kb)} | ${cell(row.bpe, kb)} |`);
  }
  timePrint(
    `| **all samples** | ${totalKb.toFixed(1)} | ${cell(totals.openai, totalKb)} | ${cell(totals.claude, totalKb)} | ${cell(totals.warm, totalKb)} | ${cell(totals.bpe, totalKb)} |`,
  );
  timePrint();

  const lines: string[] = [];
  const print = (line = '') => {
    lines.push(line);
    console.log(line);
  };

  // ---- tokens saved and retention, per sample and per kind
  const byKind = new Map<Kind, { before: number; after: number }>();
  const reports: { sample: Sample; report: RetentionReport }[] = [];
  print('### Tokens saved (cl100k_base via js-tiktoken)');
  print();
  print('| kind | sample | KB | tokens before | tokens after | saved |');
  print('|---|---|---:|---:|---:|---:|');
  for (const sample of all) {
    const out = compressedText(sample.text, 'gpt-4o');
    const before = tokens(sample.text);
    const after = tokens(out);
    const total = byKind.get(sample.kind) ?? { before: 0, after: 0 };
    total.before += before;
    total.after += after;
    byKind.set(sample.kind, total);
    reports.push({ sample, report: checkRetention(sample.text, out) });
    print(`| ${sample.kind} | ${sample.name} | ${(Buffer.byteLength(sample.text) / 1024).toFixed(1)} | ${before} | ${after} | ${pct(before - after, before)}% |`);
  }
  print();
  const goals: Record<Kind, number | undefined> = { json: 85, log: 70, listing: 35, code: undefined };
  const goalResults: string[] = [];
  print('| kind | tokens before | tokens after | saved | goal |');
  print('|---|---:|---:|---:|---|');
  let allBefore = 0;
  let allAfter = 0;
  for (const [kind, total] of byKind) {
    allBefore += total.before;
    allAfter += total.after;
    const saved = (100 * (total.before - total.after)) / total.before;
    const goal = goals[kind];
    const verdict = goal === undefined ? 'none (whitespace only, by design)' : `>= ${goal}%: ${saved >= goal ? 'met' : 'NOT met'}`;
    if (goal !== undefined) goalResults.push(`${kind} ${saved >= goal ? 'met' : 'NOT met'}`);
    print(`| ${kind} | ${total.before} | ${total.after} | ${saved.toFixed(1)}% | ${verdict} |`);
  }
  print(`| **all samples** | ${allBefore} | ${allAfter} | ${pct(allBefore - allAfter, allBefore)}% | |`);
  print();

  // ---- whole requests as the middleware would send them
  print('### Whole requests (every message row, protect_recent 0)');
  print();
  print('| request | model | tokens before (cl100k, JSON of messages) | after | saved | compressor says before → after (its tokenizer) | transforms |');
  print('|---|---|---:|---:|---:|---|---|');
  const requests: { name: string; messages: ContractMessage[]; model: string }[] = [1, 2, 3, 4].map((n) => {
    const body = readJson(`claude-code-session/turn-${n}.json`).body;
    return { name: `claude-code turn-${n}`, messages: body.messages, model: body.model };
  });
  const agentBody = readJson('openai-agent/request.json').body;
  requests.push({ name: 'openai-agent', messages: agentBody.messages, model: agentBody.model });
  for (const r of requests) {
    const response = compress({ model: r.model, messages: r.messages, config: { protect_recent: 0 } });
    const before = tokens(JSON.stringify(r.messages));
    const after = tokens(JSON.stringify(response.messages));
    print(
      `| ${r.name} | ${r.model} | ${before} | ${after} | ${pct(before - after, before)}% | ${response.tokens_before} → ${response.tokens_after} | ${response.transforms_applied.join(', ') || '(none)'} |`,
    );
  }
  print();

  // ---- retention
  print('### Retention checks');
  print();
  let retentionFailures = 0;
  for (const { sample, report } of reports) {
    print(`- **${sample.name}** (${report.kind}): ${report.passed ? 'all passed' : 'FAILED'}`);
    for (const c of report.checks) {
      if (!c.passed) retentionFailures++;
      print(`  - ${c.passed ? 'pass' : 'FAIL'}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
    }
  }
  print();

  for (const line of timeLines) print(line);
  const per100 = (ms: number) => (ms * 100) / totalKb;
  const verdict = (t: Timing) =>
    `${per100(t.wall).toFixed(2)} ms wall (${per100(t.cpu) < 5 ? 'under' : 'NOT under'} 5 by CPU time: ${per100(t.cpu).toFixed(2)}; ${per100(t.wall) < 5 ? 'under' : 'NOT under'} by wall clock)`;
  print('### Goals');
  print();
  print(`- tokens saved: ${goalResults.join('; ')}`);
  print(`- retention: ${retentionFailures === 0 ? 'every check passed' : `${retentionFailures} checks FAILED`}`);
  print(`- time per 100 KB, gpt-4o (exact counts): ${verdict(totals.openai)}`);
  print(`- time per 100 KB, claude (estimated counts): ${verdict(totals.claude)}`);
  print(
    `- machine: Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')} (1/5/15 min) when the timings ended`,
  );

  if (write) {
    const docPath = join(__dirname, 'COMPRESSOR.md');
    const doc = readFileSync(docPath, 'utf8');
    const start = '<!-- bench:start -->';
    const end = '<!-- bench:end -->';
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    if (from === -1 || to === -1) throw new Error('COMPRESSOR.md has no bench markers');
    writeFileSync(docPath, `${doc.slice(0, from + start.length)}\n${lines.join('\n')}\n${doc.slice(to)}`);
    console.log(`\nupdated ${docPath}`);
  }
}

main();
