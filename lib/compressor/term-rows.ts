/**
 * Which rows of a table or JSON array to keep for the salient terms of the request. Questions about
 * rows are usually conjunctive ("production deployments that failed", "open p1 tickets"), so the
 * union of every term's rows would keep far more than the answer. Terms are therefore told apart by
 * where they were found:
 *
 * - a *facet* term is found only in low-cardinality columns (a status, an environment, a country):
 *   it names a category. Facets found in the same columns are alternatives (`failed` or
 *   `rolled_back`: their rows are united); facets of different columns are conditions (their rows
 *   are intersected). When no row meets every condition (a facet the question did not mean as a
 *   filter, or no answer at all), each facet's rows are kept as for items instead.
 * - an *item* term is found anywhere else (ids, emails, free text): it names rows; its rows are kept.
 *
 * Which facets are conditions: the question's, and an argument given as a field of the data
 * (`queue: "webhooks"` found in the `queue` column). Other argument facets (words of a search string,
 * `query: "checkout 502"`) are conditions only when the question has none: a follow-up question
 * ("focus on the p1 tickets") asks about the rows of an older, broader search, not within it.
 *
 * Then the cut of term-match.ts: an item or facet carried by more than half of the rows forces
 * nothing, and the rows kept stay within half of all rows, claimed in this order: the question's
 * items, the facet rows, the arguments' items (each in term priority order).
 * The transform and the retention check both call {@link termRowsOf}, so they agree.
 */
import type { RowsProfile } from './json-profile';
import { MAX_CARRIER_SHARE, TermMatcher, keepWithin } from './term-match';
import type { Term } from './terms';

/** Per term: the rows carrying it and the columns it was found in. */
function carriersByTerm(profile: RowsProfile, matcher: TermMatcher): { rows: number[][]; columns: Set<string>[] } {
  const rows = matcher.terms.map((): number[] => []);
  const columns = matcher.terms.map(() => new Set<string>());
  const found = new Map<number, string[]>();
  for (let r = 0; r < profile.rowCount; r++) {
    found.clear();
    matcher.carriedByRow(profile.flatRows[r], found);
    for (const [t, paths] of found) {
      rows[t].push(r);
      for (const path of paths) columns[t].add(path);
    }
  }
  return { rows, columns };
}

function intersect(sets: readonly Set<number>[]): number[] {
  const [smallest, ...others] = [...sets].sort((a, b) => a.size - b.size);
  return [...smallest].filter((r) => others.every((set) => set.has(r))).sort((a, b) => a - b);
}

interface Facet {
  rows: number[];
  /** The columns it was found in, sorted and joined: facets of the same columns are alternatives. */
  columns: string;
  /** A condition whether or not the question has facets (see the module comment). */
  strong: boolean;
}

/** A pair term found only in the column its field names (`queue=webhooks` in `queue`). */
function isFieldOfData(term: Term, paths: readonly string[]): boolean {
  return term.kind === 'pair' && paths.every((path) => path.toLowerCase() === term.field || path.toLowerCase().endsWith(`.${term.field}`));
}

/** The rows meeting every condition of the facets, or null when none does. */
function conditionRows(facets: readonly Facet[]): number[] | null {
  const conditions = new Map<string, Set<number>>();
  for (const facet of facets) {
    const condition = conditions.get(facet.columns) ?? new Set<number>();
    for (const r of facet.rows) condition.add(r);
    conditions.set(facet.columns, condition);
  }
  if (conditions.size === 0) return null;
  const met = intersect([...conditions.values()]);
  return met.length > 0 ? met : null;
}

/** Rows carrying a salient term, as the module comment says; ascending. */
export function termRowsOf(profile: RowsProfile, matcher: TermMatcher | undefined): number[] {
  if (matcher === undefined || matcher.terms.length === 0) return [];
  const limit = Math.floor(profile.rowCount * MAX_CARRIER_SHARE);
  const { rows, columns } = carriersByTerm(profile, matcher);
  const isFacetColumn = (path: string) => profile.columns.get(path)?.lowCardinality === true;
  /** Item rows per term (empty for facets). */
  const items: number[][] = [];
  const facets: Facet[] = [];
  rows.forEach((carriers, t) => {
    const paths = [...columns[t]].sort();
    const term = matcher.terms[t];
    const facet = carriers.length > 0 && paths.every(isFacetColumn);
    items.push(facet ? [] : carriers);
    if (facet) facets.push({ rows: carriers, columns: paths.join('\u0000'), strong: term.source !== 'arguments' || isFieldOfData(term, paths) });
  });
  const strong = facets.filter((facet) => facet.strong);
  // Every condition, each possibly broad (`open` on 60% of tickets), narrows the rest.
  const met = conditionRows(strong.length > 0 ? strong : facets);
  const facetBlocks = met !== null && met.length <= limit ? [met] : facets.map((facet) => facet.rows);
  const fromArguments = (t: number) => matcher.terms[t].source === 'arguments';
  const ordered = [...items.filter((_, t) => !fromArguments(t)), ...facetBlocks, ...items.filter((_, t) => fromArguments(t))];
  return keepWithin(
    ordered.filter((block) => block.length > 0 && block.length <= limit),
    limit,
  );
}
