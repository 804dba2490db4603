/**
 * The figures behind the Claude token estimate's weights (`CLAUDE_ESTIMATE_WEIGHTS` in
 * lib/compressor/tokens.ts): on 14 texts, the error of that estimate, of a flat chars / 3.2 and of the
 * o200k count, against the only public Claude tokenizer, `@anthropic-ai/tokenizer` 0.0.4.
 *
 * That tokenizer is not a dependency (it is Anthropic's legacy BPE and ships a WASM tiktoken): install
 * it in a scratch directory and point this script at it.
 *
 *   npm install --prefix /tmp/claude-tokenizer @anthropic-ai/tokenizer@0.0.4
 *   npx ts-node --transpile-only bench/claude-estimate.ts --tokenizer /tmp/claude-tokenizer/node_modules/@anthropic-ai/tokenizer
 *   ... --write    # also replace the table between the claude-estimate markers in bench/COMPRESSOR.md
 *
 * Inputs: the shared fixtures, and files of packages in this repo's package-lock (their versions are
 * printed; each text's length is in the table, so a changed input shows). Every figure is
 * deterministic: counts, not timings.
 *
 * Besides the table it prints what the weights are judged by: the worst in-sample error, the error on
 * the total, the worst error when each text is left out of a fit of the five weights and predicted
 * (fit: least squares on the relative error), and the best any single factor on chars or on the o200k
 * count can do (the factor that minimises the worst error).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLAUDE_ESTIMATE_WEIGHTS, claudeTextFeatures, estimateClaudeTokens } from '../lib/compressor/tokens';

const root = join(__dirname, '..');
const argv = process.argv.slice(2);
const tokenizerPath = argv.includes('--tokenizer') ? argv[argv.indexOf('--tokenizer') + 1] : process.env.CLAUDE_TOKENIZER;
const write = argv.includes('--write');

if (!tokenizerPath) {
  console.error(
    'needs @anthropic-ai/tokenizer 0.0.4 (not a dependency):\n' +
      '  npm install --prefix /tmp/claude-tokenizer @anthropic-ai/tokenizer@0.0.4\n' +
      '  npx ts-node --transpile-only bench/claude-estimate.ts --tokenizer /tmp/claude-tokenizer/node_modules/@anthropic-ai/tokenizer',
  );
  process.exit(2);
}
const claude = require(tokenizerPath) as { countTokens(text: string): number };
const claudeVersion = (require(join(tokenizerPath, 'package.json')) as { version: string }).version;
if (claudeVersion !== '0.0.4') console.warn(`warning: @anthropic-ai/tokenizer ${claudeVersion}, the figures were made with 0.0.4`);
const o200k = require('gpt-tokenizer/cjs/encoding/o200k_base') as { countTokens(text: string): number };

const read = (path: string) => readFileSync(join(root, path), 'utf8');
const version = (pkg: string) => (JSON.parse(read(`node_modules/${pkg}/package.json`)) as { version: string }).version;

interface Text {
  name: string;
  text: string;
}

function texts(): Text[] {
  const turn4 = JSON.parse(read('__tests__/fixtures/claude-code-session/turn-4.json')).body;
  const agent = JSON.parse(read('__tests__/fixtures/openai-agent/request.json')).body.messages;
  const diagnostics = (locale: string) => read(`node_modules/typescript/lib/${locale}/diagnosticMessages.generated.json`).slice(0, 30_000);
  return [
    { name: 'orders.json (fixture)', text: turn4.messages[3].content[0].content },
    { name: 'worker.log (fixture)', text: turn4.messages[5].content[0].content },
    { name: 'tickets JSON (fixture)', text: agent[3].content },
    { name: 'grep listing (fixture)', text: agent[5].content },
    { name: 'lorem-ipsum prose (fixture system row)', text: turn4.messages[1].content },
    { name: '24 tool schemas (fixture, JSON)', text: JSON.stringify(turn4.tools) },
    { name: 'TypeScript (`lib.es5.d.ts`, 30 KB)', text: read('node_modules/typescript/lib/lib.es5.d.ts').slice(0, 30_000) },
    { name: 'JavaScript (`express/lib/response.js`)', text: read('node_modules/express/lib/response.js') },
    { name: 'Markdown (express README)', text: read('node_modules/express/Readme.md') },
    { name: 'Markdown (jest README)', text: read('node_modules/jest/README.md') },
    { name: 'Chinese (TypeScript diagnostics)', text: diagnostics('zh-cn') },
    { name: 'Japanese (TypeScript diagnostics)', text: diagnostics('ja') },
    { name: 'German (TypeScript diagnostics)', text: diagnostics('de') },
    { name: 'Markdown (undici README)', text: read('node_modules/undici/README.md') },
  ];
}

/** The estimate's five features, counted by the estimate itself. */
function features(text: string): number[] {
  return claudeTextFeatures(text);
}

/** Solves A x = b (Gaussian elimination with partial pivoting; A is 5×5 here). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let j = i + 1; j < n; j++) if (Math.abs(m[j][i]) > Math.abs(m[p][i])) p = j;
    [m[i], m[p]] = [m[p], m[i]];
    for (let j = i + 1; j < n; j++) {
      const f = m[j][i] / m[i][i];
      for (let k = i; k <= n; k++) m[j][k] -= f * m[i][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = m[i][n];
    for (let k = i + 1; k < n; k++) s -= m[i][k] * x[k];
    x[i] = s / m[i][i];
  }
  return x;
}

interface Row {
  name: string;
  chars: number;
  claude: number;
  estimate: number;
  o200k: number;
  features: number[];
}

/** Weights minimising Σ (estimate / claude − 1)² over `rows`. */
function fitLeastSquares(rows: Row[]): number[] {
  const a = Array.from({ length: 5 }, () => new Array<number>(5).fill(0));
  const b = new Array<number>(5).fill(0);
  for (const r of rows) {
    const x = r.features.map((v) => v / r.claude);
    for (let i = 0; i < 5; i++) {
      b[i] += x[i];
      for (let j = 0; j < 5; j++) a[i][j] += x[i] * x[j];
    }
  }
  return solve(a, b);
}

const predict = (w: number[], r: Row) => r.features.reduce((s, v, i) => s + v * w[i], 0);
const pct = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(Math.round(x * 100))}%`.replace('-0%', '0%').replace('+0%', '0%');
const pct1 = (x: number) => `${(x * 100).toFixed(1)}%`;
/** The worst relative error of `factor × v` against the truth, for the factor that minimises it (closed form). */
function bestSingleFactor(ratios: number[]): { factor: number; worst: number } {
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  return { factor: 2 / (lo + hi), worst: (hi - lo) / (hi + lo) };
}

function main(): void {
  const rows: Row[] = texts().map(({ name, text }) => ({
    name,
    chars: text.length,
    claude: claude.countTokens(text),
    estimate: estimateClaudeTokens(text),
    o200k: o200k.countTokens(text),
    features: features(text),
  }));

  const lines: string[] = [];
  lines.push('  | text | chars | legacy Claude tokens | this estimate | chars / 3.2 | o200k × 1.0 |');
  lines.push('  |---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    lines.push(`  | ${r.name} | ${r.chars} | ${r.claude} | ${pct(r.estimate / r.claude - 1)} | ${pct(r.chars / 3.2 / r.claude - 1)} | ${pct(r.o200k / r.claude - 1)} |`);
  }
  const worst = Math.max(...rows.map((r) => Math.abs(r.estimate / r.claude - 1)));
  const total = rows.reduce((s, r) => s + r.estimate, 0) / rows.reduce((s, r) => s + r.claude, 0) - 1;
  const leaveOneOut = Math.max(...rows.map((r, i) => Math.abs(predict(fitLeastSquares(rows.filter((_, j) => j !== i)), r) / r.claude - 1)));
  const fitted = fitLeastSquares(rows);
  const flat32 = Math.max(...rows.map((r) => Math.abs(r.chars / 3.2 / r.claude - 1)));
  const chars = bestSingleFactor(rows.map((r) => r.chars / r.claude));
  const o200 = bestSingleFactor(rows.map((r) => r.o200k / r.claude));
  lines.push('');
  lines.push(
    `  Worst error ${pct1(worst)} (in sample); ${pct1(leaveOneOut)} when each text is left out of a least-squares fit of the five weights ` +
      `(on relative error) and predicted from the other ${rows.length - 1}; error on the total over all ${rows.length} texts ${total >= 0 ? '+' : ''}${pct1(total)}. ` +
      `A flat chars / 3.2 misses by up to ${pct1(flat32)} (the best flat divisor, ${(1 / chars.factor).toFixed(2)}, by ${pct1(chars.worst)}), and the o200k count ` +
      `times any single factor by at least ${pct1(o200.worst)} (the best factor, ${o200.factor.toFixed(2)}).`,
  );
  const fittedWorst = Math.max(...rows.map((r) => Math.abs(predict(fitted, r) / r.claude - 1)));
  lines.push(
    `  (A least-squares fit on all ${rows.length} texts gives ${fitted.map((w) => w.toFixed(2)).join(' / ')} for letters / digits / punctuation / whitespace runs / non-ASCII, ` +
      `worst error ${pct1(fittedWorst)}; the shipped weights, ${Object.values(CLAUDE_ESTIMATE_WEIGHTS).join(' / ')}, ${pct1(worst)}.)`,
  );
  const block = lines.join('\n');

  console.log(
    `@anthropic-ai/tokenizer ${claudeVersion}; gpt-tokenizer ${version('gpt-tokenizer')} (o200k); inputs from typescript ${version('typescript')}, express ${version('express')}, jest ${version('jest')}, undici ${version('undici')}\n`,
  );
  console.log(block);

  if (write) {
    const file = join(root, 'bench', 'COMPRESSOR.md');
    const doc = readFileSync(file, 'utf8');
    const start = '  <!-- claude-estimate:start -->';
    const end = '  <!-- claude-estimate:end -->';
    const i = doc.indexOf(start);
    const j = doc.indexOf(end);
    if (i < 0 || j < i) throw new Error(`markers not found in ${file}`);
    writeFileSync(file, `${doc.slice(0, i + start.length)}\n${block}\n${doc.slice(j)}`);
    console.log(`\nwrote ${file}`);
  }
}

main();
