/**
 * Figures per kind and overall, the goals beside them, and the cases that miss most: the markdown
 * written to bench/results/answerability-latest.md.
 */
import { caseLists, cell } from './report-cases';
import { CaseScore } from './score';
import { Kind } from './types';

export interface RunInfo {
  command: string;
  date: string;
  node: string;
  commit: string;
  seed: number;
  perKind: number;
  elapsedMs: number;
}

interface Totals {
  cases: number;
  items: number;
  present: number;
  casesComplete: number;
  withRetrieval: number;
  withQuery: number;
  tokensBefore: number;
  tokensAfter: number;
  withMarker: number;
  /** Items of the cases with a reachable marker, and how many of them the query alone brings back. */
  markerItems: number;
  queryAlone: number;
}

const KIND_LABEL: Record<Kind, string> = {
  json: 'JSON arrays',
  log: 'logs',
  listing: 'search listings',
  table: 'CSV / tables',
  mixed: 'mixed',
  fixtures: 'shared fixtures',
};

/** Tokens-saved goals from the issue; the answerability goals hold for every kind. */
const SAVED_GOAL: Partial<Record<Kind, number>> = { json: 0.8, log: 0.7 };
const PRESENT_GOAL = 0.95;
const RETRIEVAL_GOAL = 1;

function totals(scores: CaseScore[]): Totals {
  const t: Totals = {
    cases: 0,
    items: 0,
    present: 0,
    casesComplete: 0,
    withRetrieval: 0,
    withQuery: 0,
    tokensBefore: 0,
    tokensAfter: 0,
    withMarker: 0,
    markerItems: 0,
    queryAlone: 0,
  };
  for (const s of scores) {
    const items = s.case.answerItems.length;
    t.cases++;
    t.items += items;
    t.present += items - s.missing.length;
    if (s.missing.length === 0) t.casesComplete++;
    t.withRetrieval += items - s.missingWithRetrieval.length;
    t.withQuery += items - s.missingWithQuery.length;
    t.tokensBefore += s.tokensBefore;
    t.tokensAfter += s.tokensAfter;
    if (s.markers > s.foreignMarkers) t.withMarker++;
    if (s.queryAloneMissing !== null) {
      t.markerItems += items;
      t.queryAlone += items - s.queryAloneMissing;
    }
  }
  return t;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const mark = (value: number, goal: number) => `${pct(value)} ${value >= goal ? '✓' : '✗'}`;

function row(label: string, t: Totals, savedGoal: number | undefined): string {
  const saved = 1 - t.tokensAfter / t.tokensBefore;
  return [
    label,
    t.cases,
    t.items,
    mark(t.present / t.items, PRESENT_GOAL),
    `${t.casesComplete}/${t.cases}`,
    mark(t.withRetrieval / t.items, RETRIEVAL_GOAL),
    mark(t.withQuery / t.items, RETRIEVAL_GOAL),
    `${t.withMarker}/${t.cases}`,
    t.markerItems === 0 ? '–' : pct(t.queryAlone / t.markerItems),
    `${t.tokensBefore.toLocaleString('en-US')} → ${t.tokensAfter.toLocaleString('en-US')}`,
    savedGoal === undefined ? pct(saved) : `${mark(saved, savedGoal)} (goal ≥ ${pct(savedGoal)})`,
  ].join(' | ');
}

export function renderReport(scores: CaseScore[], info: RunInfo): string {
  const kinds = [...new Set(scores.map((s) => s.case.kind))];
  const out: string[] = [];
  out.push('# Answerability benchmark: latest run', '');
  out.push(
    `Command: \`${info.command}\`. Date: ${info.date}. Node ${info.node}. Code: \`${info.commit}\`. Seed ${info.seed}, ${info.perKind} generated cases per kind. Took ${(info.elapsedMs / 1000).toFixed(1)} s.`,
    '',
  );
  out.push(
    'Each case is one tool output sent to the embedded `compress()` with the question before it and the tool call that produced it. ' +
      "An item (a JSON row's id value, or a whole line; blanks squeezed) is **present** when it is in the compressed text; " +
      '**with retrieval** when present, or a `hash=` marker in the compressed text names this output (`contentHash(original)`) and the item is in the original; ' +
      "**with retrieval + query** when present, or that marker's original filtered by the case's `query` (`filterOriginal`) holds it. " +
      '"marker" counts the cases whose compressed text carries a marker naming their own output; "query alone" is, over those cases, the share of *all* answer items (present or not) that retrieving with the query returns, which tests the query path even when nothing was missing. Tokens: o200k (`tokenCounterFor(\'gpt-4o\')`), saved = 1 − Σafter/Σbefore.',
    '',
  );
  out.push(`Goals: present ≥ ${pct(PRESENT_GOAL)} of items; with retrieval ${pct(RETRIEVAL_GOAL)}; tokens saved ≥ 80% on JSON arrays and ≥ 70% on logs.`, '');
  out.push(
    '| kind | cases | items | present w/o retrieval | cases fully answerable | with retrieval | with retrieval + query | marker | query alone | tokens before → after | tokens saved |',
  );
  out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const kind of kinds) out.push(`| ${row(KIND_LABEL[kind], totals(scores.filter((s) => s.case.kind === kind)), SAVED_GOAL[kind])} |`);
  out.push(`| ${row('**overall**', totals(scores), undefined)} |`, '');
  const failed = scores.filter((s) => s.error !== null);
  if (failed.length > 0) {
    const kinds = [...new Set(failed.map((s) => s.error))];
    out.push(
      `**compress() threw on ${failed.length} of ${scores.length} cases** (scored as the original passed through: present, nothing saved): ${kinds
        .slice(0, 3)
        .map((k) => `\`${cell(k ?? '', 120)}\``)
        .join(', ')}.`,
      '',
    );
  }
  const foreign = scores.filter((s) => s.foreignMarkers > 0);
  out.push(
    `Markers naming something other than the case's own output (unreachable: the store holds originals under \`contentHash(original)\`): ${foreign.reduce((n, s) => n + s.foreignMarkers, 0)}, in ${foreign.length} of ${scores.length} cases.`,
    '',
  );

  out.push('## By template', '');
  out.push('| kind | template | cases | items | present | with retrieval | with retrieval + query | tokens saved |');
  out.push('|---|---|--:|--:|--:|--:|--:|--:|');
  const variants = [...new Set(scores.map((s) => `${s.case.kind}\u0000${s.case.variant}`))];
  for (const key of variants) {
    const [kind, variant] = key.split('\u0000');
    const t = totals(scores.filter((s) => s.case.kind === kind && s.case.variant === variant));
    out.push(
      `| ${kind} | ${cell(variant)} | ${t.cases} | ${t.items} | ${pct(t.present / t.items)} | ${pct(t.withRetrieval / t.items)} | ${pct(t.withQuery / t.items)} | ${pct(1 - t.tokensAfter / t.tokensBefore)} |`,
    );
  }
  out.push('');

  out.push(...caseLists(scores, kinds));
  out.push('Regenerate: `npm run bench:answerability` (options: `--seed N`, `--per-kind N`, `--no-write`).', '');
  return out.join('\n');
}
