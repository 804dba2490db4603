/**
 * Search listings as `grep -rn` / `rg -n` print them: `path:line:text` over 20–80 files. Every line
 * matched the search, so the question picks a minority of them (a call form, an owner, a module, a
 * flag). The answer items are whole lines.
 */
import { AnswerCase, Generator } from './types';
import { Rng } from './prng';

const DIRS = ['src/payments', 'src/billing', 'src/checkout', 'src/api', 'src/workers', 'src/lib', 'src/auth', 'test/unit', 'test/e2e'];
const STEMS = ['charge', 'refund', 'webhook', 'invoice', 'cart', 'session', 'client', 'retry', 'handler', 'queue', 'ledger', 'index', 'utils', 'router'];
const EXTS = ['.ts', '.ts', '.ts', '.tsx', '.js'];

function files(rng: Rng): string[] {
  const count = rng.int(20, 80);
  const out = new Set<string>();
  while (out.size < count) out.add(`${rng.pick(DIRS)}/${rng.pick(STEMS)}${out.size % 7 === 0 ? `-${rng.int(2, 9)}` : ''}${rng.pick(EXTS)}`);
  return [...out];
}

interface ListingSpec {
  variant: string;
  toolName: string;
  toolArgs: Record<string, unknown>;
  question: string;
  query: string;
  terms: string[];
  /** Text of a line that answers, and of one that matched the search but does not answer. */
  answerText: (rng: Rng, file: string) => string;
  noiseText: (rng: Rng, file: string) => string;
  /** Answer lines only in these files, noise lines only in the others (e.g. a directory); default any file. */
  answerFile?: { test: (file: string) => boolean; fallback: string };
}

function buildListingCase(rng: Rng, id: string, spec: ListingSpec): AnswerCase {
  const fileList = files(rng);
  const inAnswerDir = spec.answerFile;
  if (inAnswerDir && !fileList.some(inAnswerDir.test)) fileList.push(inAnswerDir.fallback);
  const answerFiles = inAnswerDir ? fileList.filter(inAnswerDir.test) : fileList;
  const noiseFiles = inAnswerDir ? fileList.filter((f) => !inAnswerDir.test(f)) : fileList;
  const n = rng.int(150, 900);
  const answerAt = new Set(rng.indexes(n, Math.max(2, Math.round(n * (0.02 + rng.next() * 0.12)))));
  const entries: { file: string; line: number; text: string; answer: boolean }[] = [];
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const answer = answerAt.has(i);
    const file = rng.pick(answer ? answerFiles : noiseFiles);
    let line = rng.int(1, 600);
    while (used.has(`${file}:${line}`)) line = rng.int(1, 600);
    used.add(`${file}:${line}`);
    let text = answer ? spec.answerText(rng, file) : spec.noiseText(rng, file);
    for (let tries = 0; !answer && spec.terms.every((term) => `${file}:${line}:${text}`.includes(term)); tries++) {
      if (tries > 100) throw new Error(`${spec.variant}: noise lines keep matching ${spec.terms.join(' ')}`);
      text = spec.noiseText(rng, file);
    }
    entries.push({ file, line, text, answer });
  }
  // grep prints files in directory order and lines in order within a file.
  entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  const lines = entries.map((e) => `${e.file}:${e.line}:${e.text}`);
  return {
    id,
    kind: 'listing',
    variant: spec.variant,
    toolName: spec.toolName,
    toolArgs: spec.toolArgs,
    question: spec.question,
    output: lines.join('\n') + '\n',
    answerItems: entries.flatMap((e, i) => (e.answer ? [lines[i]] : [])),
    itemKind: 'line',
    query: spec.query,
    criterion: { unit: 'lines', all: spec.terms },
  };
}

const indent = (rng: Rng) => ' '.repeat(rng.pick([2, 4, 6, 8]));

export const listingGenerators: Generator[] = [
  (seed, id) =>
    buildListingCase(new Rng(seed), id, {
      variant: 'grep PaymentError: where it is thrown',
      toolName: 'exec_command',
      toolArgs: { cmd: 'grep -rn "PaymentError" src test' },
      question: 'Where is PaymentError thrown?',
      query: 'throw new PaymentError',
      terms: ['throw new PaymentError'],
      answerText: (r) => `${indent(r)}throw new PaymentError('${r.pick(['card_declined', 'insufficient_funds', 'expired_card'])}', { orderId, attempt: ${r.int(1, 5)} });`,
      noiseText: (r) =>
        r.pick([
          `import { PaymentError } from '../errors';`,
          `${indent(r)}if (err instanceof PaymentError) {`,
          `${indent(r)}} catch (e: PaymentError) {`,
          `${indent(r)}expect(result).toBeInstanceOf(PaymentError);`,
          `${indent(r)}// PaymentError is retried by the queue (${r.int(1, 99)})`,
          `${indent(r)}logger.warn({ err }, 'PaymentError on attempt ' + attempt);`,
        ]),
    }),
  (seed, id) =>
    buildListingCase(new Rng(seed), id, {
      variant: 'rg TODO: one owner',
      toolName: 'exec_command',
      toolArgs: { cmd: 'rg -n "TODO|FIXME" .' },
      question: 'Which TODOs are assigned to TODO(grace)?',
      query: 'TODO(grace)',
      terms: ['TODO(grace)'],
      answerText: (r) =>
        `${indent(r)}// TODO(grace): ${r.pick(['drop this once v2 ships', 'handle partial refunds', 'move to the ledger client', 'remove the retry loop'])} #${r.int(100, 999)}`,
      noiseText: (r) =>
        `${indent(r)}// ${r.pick(['TODO', 'FIXME'])}(${r.pick(['ana', 'ben', 'omar', 'lena', 'hiro'])}): ${r.pick(['flaky on CI', 'needs a test', 'use the new API', 'O(n^2)'])} #${r.int(100, 999)}`,
    }),
  (seed, id) =>
    buildListingCase(new Rng(seed), id, {
      variant: 'grep featureFlags: one flag',
      toolName: 'grep_repo',
      toolArgs: { pattern: 'featureFlags\\.' },
      question: 'Where is the new_checkout_flow flag read?',
      query: 'new_checkout_flow',
      terms: ['new_checkout_flow'],
      answerText: (r) => `${indent(r)}if (featureFlags.isEnabled('new_checkout_flow', ${r.pick(['user', 'ctx.user', 'account'])})) {`,
      noiseText: (r) => `${indent(r)}if (featureFlags.isEnabled('${r.pick(['dark_mode', 'fast_search', 'legacy_invoices', 'beta_reports', 'sso_v2'])}', user)) {`,
    }),
  (seed, id) =>
    buildListingCase(new Rng(seed), id, {
      // The symbol is only in the tool call; the semantic search also returned loose matches.
      variant: 'symbol only in the tool arguments',
      toolName: 'search_code',
      toolArgs: { query: 'retryPolicy', mode: 'semantic' },
      question: 'Where is it configured?',
      query: 'retryPolicy',
      terms: ['retryPolicy'],
      answerText: (r) => `${indent(r)}retryPolicy: { maxAttempts: ${r.int(2, 8)}, backoffMs: ${r.int(50, 2000)} },`,
      noiseText: (r) =>
        r.pick([
          `${indent(r)}await retry(() => client.send(req), ${r.int(2, 6)});`,
          `${indent(r)}const retries = opts.retries ?? ${r.int(1, 5)};`,
          `${indent(r)}// retry on 5xx only`,
        ]),
    }),
  (seed, id) =>
    buildListingCase(new Rng(seed), id, {
      variant: 'grep chargeCard: calls under src/billing/',
      toolName: 'exec_command',
      toolArgs: { cmd: 'grep -rn "chargeCard" .' },
      question: 'Which call sites in src/billing/ use chargeCard?',
      query: 'src/billing/',
      terms: ['src/billing/'],
      answerFile: { test: (f) => f.startsWith('src/billing/'), fallback: 'src/billing/charge.ts' },
      answerText: (r) => `${indent(r)}const charge = await chargeCard(${r.pick(['order', 'invoice', 'sub'])}.customerId, amount);`,
      noiseText: (r) =>
        r.pick([
          `${indent(r)}const charge = await chargeCard(${r.pick(['order', 'cart', 'session'])}.customerId, amount);`,
          `import { chargeCard } from '${r.pick(['../billing/charge', '@/billing'])}';`,
          `${indent(r)}jest.mocked(chargeCard).mockResolvedValue({ id: 'ch_${r.int(100, 999)}' });`,
        ]),
    }),
];
