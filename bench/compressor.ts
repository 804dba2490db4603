/**
 * Benchmark of the embedded compressor on the shared fixtures and the generated ones.
 *
 *   npx ts-node --transpile-only bench/compressor.ts            # print the results
 *   npx ts-node --transpile-only bench/compressor.ts --write    # also update bench/COMPRESSOR.md
 *
 * Tokens are counted with js-tiktoken (cl100k_base), independent of the counter the compressor
 * reports with (its own pre-token scanner over gpt-tokenizer's BPE). Each sample goes through the public `compress()` as the content of one `role: "tool"`
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

/** Collects one cell's samples; the median is taken at the end. */
class Cell {
  readonly wall: number[] = [];
  readonly cpu: number[] = [];

  /** Times one call of `fn` (after `before`, which is not timed). */
  time(fn: () => void, before?: () => void): void {
    before?.();
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    fn();
    this.wall.push(Number(process.hrtime.bigint() - start) / 1e6);
    const used = process.cpuUsage(cpuStart);
    this.cpu.push((used.user + used.system) / 1000);
  }

  median(): Timing {
    return { wall: median(this.wall), cpu: median(this.cpu) };
  }
}

/** Empties the compressor's caches: the next call sees a new tool output. */
function clearCaches(): void {
  clearTransformCache();
  clearTokenCountCache();
}

const pct = (saved: number, before: number) => (before === 0 ? '0.0' : ((100 * saved) / before).toFixed(1));

function main(): void {
  const write = process.argv.includes('--write');
  const runs = 101;
  // Only the encoding the timed calls use is loaded (warmUpTokenizers would load cl100k too).
  const o200k = tokenCounterFor('gpt-4o');
  o200k.count('warm up');
  // The library itself, for the side-by-side column (the counter above loaded the same module).
  const o200kLibrary = require('gpt-tokenizer/encoding/o200k_base') as { countTokens(text: string, options: object): number; clearMergeCache(): void };
  const all = samples();
  /** The first call of a process: the compressor's caches and the library's merge cache emptied. */
  const emptyEverything = () => {
    clearCaches();
    o200kLibrary.clearMergeCache();
  };
  const noSpecialTokens = { disallowedSpecial: new Set<string>() };

  // ---- time: measured first, in a process that holds nothing but the compressor; printed after
  // the token tables.
  const timeLines: string[] = [];
  const timePrint = (line = '') => timeLines.push(line);
  timePrint(`### Time per 100 KB (median of ${runs} calls, in interleaved rounds)`);
  timePrint();
  timePrint('Each cell is wall-clock ms / CPU ms of the process per 100 KB of input; CPU time is what a call costs when other processes compete for the cores. Columns:');
  timePrint();
  timePrint(
    '- **gpt-4o, new output**: a tool output this process has never seen, in a process that has counted others: the content caches (counts, compressed forms) emptied before every call, ' +
      "the pre-token memo holding the pieces of the other seven samples only (it holds pieces, not texts: in a running service it is as warm as the tokenizer library's own merge cache). The goal is judged on this column.",
  );
  timePrint("- **gpt-4o, first call**: the first call of a process: every cache emptied, the pre-token memo and the library's merge cache too.");
  timePrint('- **claude**: the new-output call for a Claude model (estimated counts, no BPE).');
  timePrint('- **gpt-4o warm**: the same history sent again (every later turn of a session): cached.');
  timePrint(
    "- **o200k count**: one exact count of the input alone, which every gpt-4o call makes: with this compressor's counter (pre-token memo as in the first column), and with gpt-tokenizer's own `countTokens` (its merge cache warm).",
  );
  timePrint();
  timePrint('| sample | KB | gpt-4o, new output | gpt-4o, first call | claude | gpt-4o warm | o200k count: this counter | o200k count: gpt-tokenizer `countTokens` |');
  timePrint('|---|---:|---:|---:|---:|---:|---:|---:|');
  const zero = (): Timing => ({ wall: 0, cpu: 0 });
  const totals = { openai: zero(), first: zero(), claude: zero(), warm: zero(), bpe: zero(), library: zero() };
  const slowest = { openai: 0, claude: 0 };
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
      for (const model of ['gpt-4o', 'claude-opus-4-8']) {
        clearCaches();
        compress(toolRequest(sample.text, model));
      }
    }
  }
  // Interleaved rounds: each round times every cell once, so a slow stretch of the machine (a
  // neighbour's load, a GC of the warm-up's garbage) spreads over all cells instead of landing on one.
  const cellNames = ['openai', 'first', 'claude', 'warm', 'bpe', 'library'] as const;
  const cells = all.map(() => Object.fromEntries(cellNames.map((name) => [name, new Cell()])) as Record<(typeof cellNames)[number], Cell>);
  for (let round = 0; round < runs; round++) {
    all.forEach((sample, i) => {
      const c = cells[i];
      // A running service that has counted other tool outputs but never this one: the content caches
      // are emptied and the pre-token memo holds the pieces of the other samples only.
      const seenOthers = () => {
        clearCaches();
        all.forEach((other, j) => j !== i && o200k.count(other.text));
      };
      const openai = toolRequest(sample.text, 'gpt-4o');
      const claude = toolRequest(sample.text, 'claude-opus-4-8');
      c.library.time(() => o200kLibrary.countTokens(sample.text, noSpecialTokens));
      c.openai.time(() => compress(openai), seenOthers);
      c.claude.time(() => compress(claude), clearCaches);
      c.warm.time(
        () => compress(openai),
        () => compress(openai),
      ); // the same history again: cached
      c.bpe.time(() => o200k.count(sample.text), seenOthers);
      // The first call of a process: every cache empty, the library's merge cache too.
      c.first.time(() => compress(openai), emptyEverything);
    });
  }
  all.forEach((sample, i) => {
    const kb = Buffer.byteLength(sample.text) / 1024;
    const row = Object.fromEntries(cellNames.map((name) => [name, cells[i][name].median()])) as Record<(typeof cellNames)[number], Timing>;
    slowest.openai = Math.max(slowest.openai, (row.openai.wall * 100) / kb);
    slowest.claude = Math.max(slowest.claude, (row.claude.wall * 100) / kb);
    totalKb += kb;
    for (const name of cellNames) add(totals[name], row[name]);
    timePrint(
      `| ${sample.name} | ${kb.toFixed(1)} | ${cell(row.openai, kb)} | ${cell(row.first, kb)} | ${cell(row.claude, kb)} | ${cell(row.warm, kb)} | ${cell(row.bpe, kb)} | ${cell(row.library, kb)} |`,
    );
  });
  timePrint(
    `| **all samples** | ${totalKb.toFixed(1)} | ${cell(totals.openai, totalKb)} | ${cell(totals.first, totalKb)} | ${cell(totals.claude, totalKb)} | ${cell(totals.warm, totalKb)} | ${cell(totals.bpe, totalKb)} | ${cell(totals.library, totalKb)} |`,
  );
  timePrint();

  // Whole requests as the middleware sends them: every row counted, the tool rows compressed. Timed
  // as first calls (every cache empty, the library's merge cache too), the least favourable case.
  timePrint("Whole requests (every row counted, tool rows compressed), per 100 KB of the messages' JSON, every cache emptied before each call:");
  timePrint();
  timePrint('| request | KB | as gpt-4o | as claude | gpt-4o warm |');
  timePrint('|---|---:|---:|---:|---:|');
  const wholeRequests = [
    { name: 'claude-code turn-4', messages: readJson('claude-code-session/turn-4.json').body.messages as ContractMessage[] },
    { name: 'openai-agent', messages: readJson('openai-agent/request.json').body.messages as ContractMessage[] },
  ];
  for (const r of wholeRequests) {
    const kb = Buffer.byteLength(JSON.stringify(r.messages)) / 1024;
    const asModel = (model: string): CompressRequest => ({ model, messages: r.messages, config: { protect_recent: 0 } });
    const [openai, claude, warm] = [new Cell(), new Cell(), new Cell()];
    for (let round = 0; round < runs; round++) {
      openai.time(() => compress(asModel('gpt-4o')), emptyEverything);
      claude.time(() => compress(asModel('claude-opus-4-8')), emptyEverything);
      warm.time(
        () => compress(asModel('gpt-4o')),
        () => compress(asModel('gpt-4o')),
      );
    }
    timePrint(`| ${r.name} | ${kb.toFixed(1)} | ${cell(openai.median(), kb)} | ${cell(claude.median(), kb)} | ${cell(warm.median(), kb)} |`);
  }
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
  print(`- time per 100 KB, gpt-4o (exact counts), new output: ${verdict(totals.openai)}; slowest sample ${slowest.openai.toFixed(2)} ms wall`);
  print(`- time per 100 KB, gpt-4o, first call of a process: ${verdict(totals.first)}`);
  print(`- time per 100 KB, claude (estimated counts): ${verdict(totals.claude)}; slowest sample ${slowest.claude.toFixed(2)} ms wall`);
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
