/**
 * Mixed output: prose with a JSON block and a log tail (what a script or an agent's helper prints),
 * `kubectl get pods -A`, a CI test run, `gh issue list`. The answer items are whole lines.
 */
import { AnswerCase, Generator } from './types';
import { Rng, answerCount, logTime } from './prng';

const PROSE = [
  'Nightly maintenance finished with warnings. The summary below lists each job and its final state;',
  'the tail of the scheduler log follows so you can see what happened around the failures.',
  'Jobs are retried up to three times before they are reported here. Durations are wall-clock.',
  'Contact #platform-oncall if a job stays red for two nights in a row.',
];
const JOB_NAMES = ['export', 'reindex', 'vacuum', 'backup', 'rollup', 'sync', 'digest', 'prune'];
const JOB_STATES = ['succeeded', 'skipped', 'retried'];
const NAMESPACES = ['default', 'payments', 'search', 'kube-system', 'monitoring', 'checkout'];
const POD_STATUS = ['Running', 'Running', 'Running', 'Running', 'Completed', 'Pending', 'ContainerCreating'];
const LABELS = ['bug', 'enhancement', 'docs', 'question', 'performance', 'ci'];

interface Built {
  lines: string[];
  isAnswer: boolean[];
}

const answersOf = (built: Built) => built.lines.filter((_, i) => built.isAnswer[i]);

/** `n` lines, a minority made by `answer`, the rest by `noise` (redrawn while they carry every term). */
function lineSet(rng: Rng, n: number, terms: string[], answer: (i: number) => string, noise: (i: number) => string): Built {
  const at = new Set(rng.indexes(n, answerCount(rng, n)));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    if (at.has(i)) {
      lines.push(answer(i));
      continue;
    }
    let line = noise(i);
    for (let tries = 0; terms.every((t) => line.includes(t)); tries++) {
      if (tries > 100) throw new Error(`noise keeps matching ${terms.join(' ')}`);
      line = noise(i);
    }
    lines.push(line);
  }
  return { lines, isAnswer: lines.map((_, i) => at.has(i)) };
}

function mixedCase(
  id: string,
  variant: string,
  fields: Omit<AnswerCase, 'id' | 'kind' | 'variant' | 'output' | 'answerItems' | 'itemKind'>,
  output: string,
  answerItems: string[],
): AnswerCase {
  return { id, kind: 'mixed', variant, ...fields, output, answerItems, itemKind: 'line' };
}

/** Prose, a ```json block (one job per line), then a scheduler log tail. `about`: which part the question asks about. */
function report(rng: Rng, id: string, about: 'json' | 'log'): AnswerCase {
  const jobTerm = '"state": "failed"';
  const logTerm = 'ERR_POOL_EXHAUSTED';
  const jobs = lineSet(
    rng,
    rng.int(60, 200),
    about === 'json' ? [jobTerm] : ['\u0000'],
    (i) => `  {"job": "${rng.pick(JOB_NAMES)}-${i}", "state": "failed", "attempts": 3, "duration_s": ${rng.int(1, 900)}},`,
    (i) => `  {"job": "${rng.pick(JOB_NAMES)}-${i}", "state": "${rng.pick(JOB_STATES)}", "attempts": ${rng.int(1, 3)}, "duration_s": ${rng.int(1, 900)}},`,
  );
  let ms = 0;
  const t = () => logTime((ms += rng.int(50, 3000)));
  const tail = lineSet(
    rng,
    rng.int(150, 600),
    about === 'log' ? [logTerm] : ['\u0000'],
    () => `${t()} ERROR scheduler job=${rng.pick(JOB_NAMES)} code=ERR_POOL_EXHAUSTED waited=${rng.int(1000, 30000)}ms`,
    () =>
      rng.chance(0.9)
        ? `${t()} INFO  scheduler job=${rng.pick(JOB_NAMES)} tick=${rng.int(1, 99999)} took ${rng.int(1, 900)}ms`
        : `${t()} WARN  scheduler job=${rng.pick(JOB_NAMES)} lag=${rng.int(1, 60)}s`,
  );
  // Only the part asked about keeps its answers; the other part's "answers" are plain content.
  const lastJob = jobs.lines.length - 1;
  jobs.lines[lastJob] = jobs.lines[lastJob].replace(/,$/, '');
  const output = [...PROSE, '', '```json', '[', ...jobs.lines, ']', '```', '', 'Scheduler log (last lines):', ...tail.lines, ''].join('\n');
  const answerItems = answersOf(about === 'json' ? jobs : tail);
  const fields =
    about === 'json'
      ? {
          toolName: 'run_script',
          toolArgs: { script: 'scripts/nightly-report.sh' },
          question: 'Which jobs failed last night?',
          query: 'failed',
          criterion: { unit: 'lines' as const, all: [jobTerm] },
        }
      : {
          toolName: 'run_script',
          toolArgs: { script: 'scripts/nightly-report.sh' },
          question: 'Why do the jobs hit ERR_POOL_EXHAUSTED?',
          query: logTerm,
          criterion: { unit: 'lines' as const, all: [logTerm] },
        };
  return mixedCase(id, about === 'json' ? 'prose + JSON block + log: the JSON rows' : 'prose + JSON block + log: the log lines', fields, output, answerItems);
}

function pods(rng: Rng, id: string): AnswerCase {
  const n = rng.int(60, 300);
  const name = (i: number) => `${rng.pick(['api', 'worker', 'web', 'cron', 'ingest'])}-${rng.hex(9)}-${rng.hex(5)}-${i}`;
  const row = (i: number, status: string, restarts: number) => [
    rng.pick(NAMESPACES),
    name(i),
    status === 'Running' ? '1/1' : '0/1',
    status,
    String(restarts),
    `${rng.int(1, 40)}d`,
  ];
  const built = lineSet(
    rng,
    n,
    ['CrashLoopBackOff'],
    (i) => row(i, 'CrashLoopBackOff', rng.int(5, 400)).join('\t'),
    (i) => row(i, rng.pick(POD_STATUS), rng.int(0, 3)).join('\t'),
  );
  // kubectl aligns columns with spaces: pad every cell but the last to its column's width.
  const header = ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  const cells = [header, ...built.lines.map((l) => l.split('\t'))];
  const widths = header.map((_, j) => Math.max(...cells.map((c) => c[j].length)));
  const render = (c: string[]) => c.map((v, j) => (j === c.length - 1 ? v : v.padEnd(widths[j] + 3))).join('');
  const byTab = new Map(built.lines.map((l) => [l, render(l.split('\t'))]));
  return mixedCase(
    id,
    'kubectl get pods -A',
    {
      toolName: 'exec_command',
      toolArgs: { cmd: 'kubectl get pods -A' },
      question: 'Which pods are in CrashLoopBackOff?',
      query: 'CrashLoopBackOff',
      criterion: { unit: 'lines', all: ['CrashLoopBackOff'] },
    },
    [render(header), ...built.lines.map((l) => byTab.get(l) as string), ''].join('\n'),
    answersOf(built).map((l) => byTab.get(l) as string),
  );
}

function ciRun(rng: Rng, id: string): AnswerCase {
  const suite = (i: number) => `${rng.pick(['src/api', 'src/billing', 'src/ui', 'src/lib'])}/${rng.pick(['cart', 'auth', 'ledger', 'render', 'queue'])}-${i}.test.ts`;
  const built = lineSet(
    rng,
    rng.int(80, 300),
    ['FAIL'],
    (i) => `FAIL ${suite(i)} (${(rng.int(10, 900) / 100).toFixed(2)} s)`,
    (i) =>
      rng.chance(0.7)
        ? `PASS ${suite(i)} (${(rng.int(10, 900) / 100).toFixed(2)} s)`
        : `  console.log ${rng.pick(['fetching fixtures', 'seeded db', 'mock server up'])} at ${suite(i)}:${rng.int(1, 300)}:${rng.int(1, 40)}`,
  );
  const output = [
    '> app@2.4.0 test',
    '> jest --ci',
    '',
    ...built.lines,
    '',
    `Test Suites: ${answersOf(built).length} failed, ${built.lines.length} total`,
    'Time: 84.2 s',
    '',
  ].join('\n');
  return mixedCase(
    id,
    'CI test run (jest)',
    { toolName: 'ci_logs', toolArgs: { job: 'test', step: 'jest' }, question: 'Which test suites are marked FAIL?', query: 'FAIL', criterion: { unit: 'lines', all: ['FAIL'] } },
    output,
    answersOf(built),
  );
}

function issues(rng: Rng, id: string): AnswerCase {
  const title = () =>
    `${rng.pick(['Crash when', 'Slow', 'Wrong total when', 'Timeout when', 'Typo in docs for'])} ${rng.pick(['exporting CSV', 'saving drafts', 'switching orgs', 'paying with SEPA', 'uploading avatars'])}`;
  const built = lineSet(
    rng,
    rng.int(100, 300),
    ['OPEN', 'regression'],
    (i) => `#${4000 + i}\tOPEN\t${title()}\tregression, ${rng.pick(LABELS)}\t2026-11-${String(rng.int(1, 28)).padStart(2, '0')}`,
    (i) =>
      `#${4000 + i}\t${rng.pick(['OPEN', 'CLOSED'])}\t${title()}\t${rng.chance(0.2) ? 'regression' : rng.pick(LABELS)}, ${rng.pick(LABELS)}\t2026-11-${String(rng.int(1, 28)).padStart(2, '0')}`,
  );
  return mixedCase(
    id,
    'gh issue list (tab-separated)',
    {
      toolName: 'exec_command',
      toolArgs: { cmd: 'gh issue list --state all --limit 300' },
      question: 'Which OPEN issues are labelled regression?',
      query: 'OPEN regression',
      criterion: { unit: 'lines', all: ['OPEN', 'regression'] },
    },
    [...built.lines, ''].join('\n'),
    answersOf(built),
  );
}

export const mixedGenerators: Generator[] = [
  (seed, id) => report(new Rng(seed), id, 'json'),
  (seed, id) => pods(new Rng(seed), id),
  (seed, id) => report(new Rng(seed), id, 'log'),
  (seed, id) => ciRun(new Rng(seed), id),
  (seed, id) => issues(new Rng(seed), id),
];
