/**
 * The case lists under the figures: per kind, the cases that miss most and the ones that save least,
 * so whoever tunes the compressor sees which question, tool call and shape to look at.
 */
import { CaseScore } from './score';
import { Kind } from './types';

/** Per kind, so one kind's failures cannot hide another's. */
const PER_KIND = 5;
const LEAST_SAVED_PER_KIND = 3;

/** Text for a table cell: cut, with pipes escaped and backticks neutralised (cells hold code spans). */
export const cell = (s: string, max = 90) => (s.length > max ? `${s.slice(0, max - 1)}…` : s).replace(/\|/g, '\\|').replace(/`/g, "'");

const call = (s: CaseScore) => cell(`${s.case.toolName} ${JSON.stringify(s.case.toolArgs)}`, 60);
const saved = (s: CaseScore) => 1 - s.tokensAfter / s.tokensBefore;

function missRank(a: CaseScore, b: CaseScore): number {
  const share = (s: CaseScore) => s.missing.length / s.case.answerItems.length;
  return b.missingWithRetrieval.length - a.missingWithRetrieval.length || share(b) - share(a) || b.missingWithQuery.length - a.missingWithQuery.length;
}

export function caseLists(scores: CaseScore[], kinds: Kind[]): string[] {
  const out: string[] = [];
  const missing = (s: CaseScore) => s.missing.length > 0 || s.missingWithRetrieval.length > 0 || s.missingWithQuery.length > 0;
  const worst = kinds.flatMap((kind) =>
    scores
      .filter((s) => s.case.kind === kind && missing(s))
      .sort(missRank)
      .slice(0, PER_KIND),
  );
  out.push('## Worst cases', '');
  if (worst.length === 0) out.push('Every item of every case was present in the compressed text.', '');
  else {
    out.push(
      `Up to ${PER_KIND} per kind, by items missing even with retrieval, then by the share missing without it. ` +
        '"w/ query": missing after retrieving with the case\'s `query` (→ rows/lines it returned, when a marker reached the original). "e.g." is the first item missing from the compressed text.',
      '',
    );
    out.push('| case | question | tool call | missing w/o retrieval | w/ retrieval | w/ query | query | markers (foreign) | e.g. |');
    out.push('|---|---|---|--:|--:|--:|---|--:|---|');
    for (const s of worst) {
      const c = s.case;
      out.push(
        `| ${c.id} | ${cell(c.question, 70)} | ${call(s)} | ${s.missing.length}/${c.answerItems.length} | ${s.missingWithRetrieval.length} | ${s.missingWithQuery.length} | \`${cell(c.query, 30)}\`${s.queryMatched === null ? '' : ` → ${s.queryMatched}`} | ${s.markers} (${s.foreignMarkers}) | \`${cell(s.missing[0] ?? '', 70)}\` |`,
      );
    }
    out.push('');
  }

  out.push('## Least saved', '');
  out.push(`Up to ${LEAST_SAVED_PER_KIND} per kind, by tokens saved.`, '');
  out.push('| case | template | question | tokens before → after | saved | items present |');
  out.push('|---|---|---|--:|--:|--:|');
  for (const kind of kinds) {
    const least = scores
      .filter((s) => s.case.kind === kind)
      .sort((a, b) => saved(a) - saved(b))
      .slice(0, LEAST_SAVED_PER_KIND);
    for (const s of least) {
      const c = s.case;
      out.push(
        `| ${c.id} | ${cell(c.variant, 50)} | ${cell(c.question, 60)} | ${s.tokensBefore.toLocaleString('en-US')} → ${s.tokensAfter.toLocaleString('en-US')} | ${(saved(s) * 100).toFixed(1)}% | ${c.answerItems.length - s.missing.length}/${c.answerItems.length} |`,
      );
    }
  }
  out.push('');
  return out;
}
