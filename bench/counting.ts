/**
 * The token-counting figures of bench/COMPRESSOR.md that bench/compressor.ts does not produce, and
 * the middleware's `minTokens` estimate against o200k (the README's option table):
 *
 *   npx ts-node --transpile-only bench/counting.ts [--rounds 51] [--write]
 *
 * `--write` also saves the output as bench/results/counting-latest.md (with the date and commit).
 *
 * 1. Loading an encoder: the first o200k count of a fresh process (median of 3 child processes).
 * 2. compress() for gpt-4o with this compressor's counter, and with gpt-tokenizer's own `countTokens`
 *    in its place (what the compressor counted with before its own counter): ms per 100 KB over the
 *    eight samples of bench/compressor.ts, a new output each call (content caches emptied, as in that
 *    bench's "new output" column), in interleaved rounds.
 * 3. One o200k count of the same samples: this counter, gpt-tokenizer's `countTokens`, js-tiktoken.
 * 4. Why long pre-tokens are cut: gpt-tokenizer's `countTokens` on runs of one character (BPE merging
 *    is quadratic in a pre-token's length), the quadratic extrapolation to a 2 MB line, and this
 *    counter on a 2 MB line (cut into 256-character pieces).
 * 5. The middleware's estimate (`estimateTokens`: characters / 3, used for `minTokens`) against the
 *    exact o200k count, on the fixtures' tool outputs and the generated ones.
 *
 * Timings move with the machine (see the load average printed at the end); compare within a run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { toolOutput } from '../__tests__/kit/session';
import { estimateTokens } from '../lib/codec';
import type { CompressRequest } from '../lib/contract';
import { compress } from '../lib/compressor/compress';
import * as tokens from '../lib/compressor/tokens';
import { clearTransformCache } from '../lib/compressor/transform';

const root = join(__dirname, '..');
const argv = process.argv.slice(2);
const rounds = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 51;
const write = argv.includes('--write');

const fixtures = join(root, '__tests__', 'fixtures');
const readJson = (path: string) => JSON.parse(readFileSync(join(fixtures, path), 'utf8'));
const readText = (name: string) => readFileSync(join(fixtures, 'compressor', name), 'utf8');

/** The samples of bench/compressor.ts. */
function samples(): Array<{ name: string; text: string }> {
  const turn4 = readJson('claude-code-session/turn-4.json').body.messages;
  const agent = readJson('openai-agent/request.json').body.messages;
  return [
    { name: 'orders.json (claude-code turn-4)', text: turn4[3].content[0].content },
    { name: 'search_tickets (openai-agent)', text: agent[3].content },
    { name: 'events.json (generated)', text: readText('events.json') },
    { name: 'worker.log (claude-code turn-4)', text: turn4[5].content[0].content },
    { name: 'service.log (generated)', text: readText('service.log') },
    { name: 'grep_repo (openai-agent)', text: agent[5].content },
    { name: 'grep.txt (generated)', text: readText('grep.txt') },
    { name: 'source.ts (generated)', text: readText('source.ts.txt') },
  ];
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const timeMs = (fn: () => void): number => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const f2 = (v: number) => v.toFixed(2);

/** 1: the first count of a fresh process, which loads the encoder (its own child, so nothing is loaded yet). */
function encoderLoadMs(): number {
  const script =
    "require('ts-node').register({ transpileOnly: true });" +
    "const { tokenCounterFor } = require('./lib/compressor/tokens');" +
    'const s = process.hrtime.bigint();' +
    "tokenCounterFor('gpt-4o').count('warm up');" +
    'console.log(Number(process.hrtime.bigint() - s) / 1e6);';
  const runs = [0, 1, 2].map(() => Number(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }).trim()));
  return median(runs);
}

function main(): void {
  const lines: string[] = [];
  const print = (line = '') => {
    lines.push(line);
    console.log(line);
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  let commit = 'unknown';
  try {
    commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : '');
  } catch {
    /* not a git checkout */
  }
  print('# Token counting: costs and estimates');
  print();
  print(`Command: \`npx ts-node --transpile-only bench/counting.ts${rounds !== 51 ? ` --rounds ${rounds}` : ''}\` (${new Date().toISOString()})  `);
  print(`Code: \`${commit}\``);
  print();

  // ---- 1
  print(`1. Loading the o200k encoder (first count of a process, median of 3 processes): ${encoderLoadMs().toFixed(0)} ms.`);
  print();

  const all = samples();
  const totalKb = all.reduce((s, x) => s + Buffer.byteLength(x.text), 0) / 1024;
  const perHundredKb = (ms: number) => (ms * 100) / totalKb;
  const noSpecial = { disallowedSpecial: new Set<string>() };
  const ours = tokens.tokenCounterFor('gpt-4o');
  ours.count('warm up');
  const library = require('gpt-tokenizer/encoding/o200k_base') as { countTokens(text: string, options: object): number; clearMergeCache(): void };
  // A distinct name: the count cache is keyed by counter name, so the two never share entries.
  const libraryCounter: tokens.TokenCounter = { name: 'o200k_base (gpt-tokenizer countTokens)', exact: true, count: (text) => library.countTokens(text, noSpecial) };
  const realCounterFor = tokens.tokenCounterFor;
  const withCounter = <T>(counter: tokens.TokenCounter | undefined, fn: () => T): T => {
    // compress() asks tokens.tokenCounterFor for its counter on every call; swap it for one call.
    const mutable = tokens as { tokenCounterFor: typeof tokens.tokenCounterFor };
    if (counter) mutable.tokenCounterFor = () => counter;
    try {
      return fn();
    } finally {
      mutable.tokenCounterFor = realCounterFor;
    }
  };
  const request = (text: string): CompressRequest => ({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'call_bench', content: text }], config: { protect_recent: 0 } });
  const newOutput = () => {
    clearTransformCache();
    tokens.clearTokenCountCache();
  };
  // Same output either way (the counts are equal): checked once, so the comparison is like for like.
  for (const s of all) {
    const a = JSON.stringify(compress(request(s.text)));
    const b = withCounter(libraryCounter, () => JSON.stringify(compress(request(s.text))));
    if (a !== b) throw new Error(`${s.name}: compress() differs with the library's countTokens`);
  }
  // JIT warm-up of every path timed below.
  for (let i = 0; i < 3; i++)
    for (const s of all) {
      newOutput();
      compress(request(s.text));
      newOutput();
      withCounter(libraryCounter, () => compress(request(s.text)));
    }

  // ---- 2 and 3, interleaved: each round times every cell once.
  const tiktoken = (require('js-tiktoken') as typeof import('js-tiktoken')).getEncoding('o200k_base');
  const cells = { compressOurs: [] as number[], compressLibrary: [] as number[], countOurs: [] as number[], countLibrary: [] as number[], countTiktoken: [] as number[] };
  const tiktokenRounds = Math.max(5, Math.round(rounds / 5)); // ~10× slower: fewer rounds
  for (let round = 0; round < rounds; round++) {
    let co = 0;
    let cl = 0;
    let no = 0;
    let nl = 0;
    let nt = 0;
    for (const s of all) {
      const req = request(s.text);
      newOutput();
      co += timeMs(() => compress(req));
      newOutput();
      cl += timeMs(() => withCounter(libraryCounter, () => compress(req)));
      newOutput();
      no += timeMs(() => ours.count(s.text));
      nl += timeMs(() => library.countTokens(s.text, noSpecial));
      if (round < tiktokenRounds) nt += timeMs(() => tiktoken.encode(s.text, [], []).length);
    }
    cells.compressOurs.push(co);
    cells.compressLibrary.push(cl);
    cells.countOurs.push(no);
    cells.countLibrary.push(nl);
    if (round < tiktokenRounds) cells.countTiktoken.push(nt);
  }
  const m = Object.fromEntries(Object.entries(cells).map(([k, v]) => [k, perHundredKb(median(v))])) as Record<keyof typeof cells, number>;
  print(
    `2. compress() for gpt-4o, a new output each call, ms per 100 KB over the ${all.length} samples of bench/compressor.ts (${totalKb.toFixed(1)} KB; median of ${rounds} rounds):`,
  );
  print();
  print('| counting with | ms per 100 KB |');
  print('|---|---:|');
  print(`| this compressor's counter | ${f2(m.compressOurs)} |`);
  print(`| gpt-tokenizer's \`countTokens\` in its place | ${f2(m.compressLibrary)} |`);
  print();
  print(`3. One o200k count of the same samples, ms per 100 KB (js-tiktoken: median of ${tiktokenRounds} rounds):`);
  print();
  print('| counter | ms per 100 KB | × this counter |');
  print('|---|---:|---:|');
  print(`| this compressor's counter | ${f2(m.countOurs)} | 1.0 |`);
  print(`| gpt-tokenizer \`countTokens\` | ${f2(m.countLibrary)} | ${(m.countLibrary / m.countOurs).toFixed(1)} |`);
  print(
    `| js-tiktoken \`encode().length\` | ${f2(m.countTiktoken)} | ${(m.countTiktoken / m.countOurs).toFixed(1)} (${(m.countTiktoken / m.countLibrary).toFixed(1)} × gpt-tokenizer) |`,
  );
  print();

  // ---- 4
  print("4. gpt-tokenizer's `countTokens` on one run of one character (a single pre-token), ms:");
  print();
  print('| run | 4,096 chars | 8,192 | 16,384 | 2 MB, extrapolated as n² from 16,384 |');
  print('|---|---:|---:|---:|---:|');
  const twoMb = 2 * 1024 * 1024;
  for (const ch of ['[', 'a']) {
    // The library caches merged pieces: emptied before each call, or the second call costs nothing.
    const cold = (text: string) => {
      library.clearMergeCache();
      return timeMs(() => library.countTokens(text, noSpecial));
    };
    const t = [4096, 8192, 16384].map((n) => median([0, 1, 2].map(() => cold(ch.repeat(n)))));
    const extrapolatedMin = (t[2] * (twoMb / 16384) ** 2) / 60_000;
    print(`| \`${ch}\` | ${t[0].toFixed(0)} | ${t[1].toFixed(0)} | ${t[2].toFixed(0)} | ${extrapolatedMin.toFixed(0)} min |`);
  }
  const line = 'a'.repeat(twoMb);
  print();
  print(`This compressor's counter on a 2 MB line of \`a\` (cut into ${tokens.MAX_BPE_RUN}-character pieces): ${timeMs(() => ours.count(line)).toFixed(0)} ms.`);
  print();

  // ---- 5
  print("5. The middleware's estimate for `minTokens` (`estimateTokens`: characters / 3) against the exact o200k count:");
  print();
  print('| tool output | chars | o200k | chars / 3 | error |');
  print('|---|---:|---:|---:|---:|');
  const turn4 = readJson('claude-code-session/turn-4.json').body.messages;
  const outputs = [
    ...all.filter((s) => !s.name.startsWith('source')),
    { name: 'small tool_result (claude-code turn-4)', text: turn4[7].content[0].content as string },
    { name: 'generated session: JSON rows (toolOutput(3))', text: toolOutput(3) },
    { name: 'generated session: log (toolOutput(1))', text: toolOutput(1) },
    { name: 'generated session: grep listing (toolOutput(2))', text: toolOutput(2) },
  ];
  let worstFixture = 0;
  let worstAll = 0;
  for (const o of outputs) {
    const exact = library.countTokens(o.text, noSpecial);
    const est = estimateTokens(o.text);
    const err = est / exact - 1;
    worstAll = Math.max(worstAll, Math.abs(err));
    if (/claude-code|openai-agent/.test(o.name)) worstFixture = Math.max(worstFixture, Math.abs(err));
    print(`| ${o.name} | ${o.text.length} | ${exact} | ${est} | ${err >= 0 ? '+' : ''}${(err * 100).toFixed(1)}% |`);
  }
  print();
  print(`Worst error: ${(worstFixture * 100).toFixed(1)}% on the fixtures' tool outputs, ${(worstAll * 100).toFixed(1)}% over all of these.`);
  print();
  print(
    `Machine: Node ${process.version}, ${cpus().length} cores, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' / ')} (1/5/15 min) at the end.`,
  );
  if (write) {
    const file = join(root, 'bench', 'results', 'counting-latest.md');
    writeFileSync(file, lines.join('\n') + '\n');
    console.log(`\nwrote ${file}`);
  }
}

main();
