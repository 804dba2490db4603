/**
 * Answerability benchmark of the embedded compressor: after compression, can the user's question
 * still be answered from the compressed text, or from what its retrieval marker brings back?
 *
 *   npm run bench:answerability                  # run, print, write bench/results/answerability-latest.md
 *   npx ts-node --transpile-only bench/answerability.ts --seed 7 --per-kind 40 --no-write
 *
 * Cases: generated (bench/answerability/: JSON arrays, logs, search listings, CSV/psql tables, mixed),
 * each output generated together with its question and answer set, plus the shared fixtures.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenCounterFor } from '../lib/compressor/tokens';
import { allCases } from './answerability/cases';
import { renderReport } from './answerability/report';
import { OriginalStore } from './answerability/retrieval';
import { CaseScore, scoreCase } from './answerability/score';

const ROOT = join(__dirname, '..');
const REPORT = join(ROOT, 'bench', 'results', 'answerability-latest.md');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} wants a positive integer`);
  return value;
}

function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench:answerability') return `npm run bench:answerability${args ? ` -- ${args}` : ''}`;
  return `npx ts-node --transpile-only bench/answerability.ts${args ? ` ${args}` : ''}`;
}

/** The commit the figures belong to, `-dirty` when the tree has changes (colleagues' work in progress shows). */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}-dirty (lib/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

function main(): void {
  const started = performance.now();
  const seed = option('--seed', 1);
  const perKind = option('--per-kind', 36);
  const cases = allCases(seed, perKind);
  const ids = new Set(cases.map((c) => c.id));
  if (ids.size !== cases.length) throw new Error('case ids are not unique');

  // The store holds every original sent, as the middleware keeps them: a marker naming another case's output is caught as foreign.
  const store = new OriginalStore();
  for (const c of cases) store.keep(c.output);
  const counter = tokenCounterFor('gpt-4o');
  const scores: CaseScore[] = cases.map((c) => scoreCase(c, store, counter));

  const markdown = renderReport(scores, {
    command: commandLine(),
    date: new Date().toISOString(),
    node: process.version,
    commit: commit(),
    seed,
    perKind,
    elapsedMs: performance.now() - started,
  });
  console.log(markdown);
  if (!process.argv.includes('--no-write')) {
    writeFileSync(REPORT, markdown);
    console.error(`answerability: wrote ${REPORT}`);
  }
}

main();
