/**
 * Tables (table-parse.ts: CSV, TSV, pipe, aligned columns) with many rows. The output is a legend
 * line, one JSON line of statistics over all rows (`_rows`, and as in the JSON summary `_same`,
 * `_values`, `_range`), the header, then the rows that matter as they were, in order: first, last,
 * every anomaly json-profile.ts finds (rare, error-like, empty, outlier, min/max) and every row
 * carrying a salient term of the request. `[... N rows ...]` stands where rows were left out, the
 * footer follows, and with a retrieval hash the last line is Headroom's marker:
 * `[<n> of <m> rows omitted. Retrieve more: hash=<24 hex>]`.
 */
import { retrievalMarker } from '../ccr';
import { JsonObject, RowsProfile, profileRows } from './json-profile';
import { formatCount, plural } from './omission';
import { SUMMARY_KEYS, chooseRows, columnStatsParts } from './rows-summary';
import { NUMBER_CELL, ParsedTable, parseTable } from './table-parse';
import type { TermMatcher } from './term-match';
import { termRowsOf } from './term-rows';

export interface TableCompressOptions {
  /** Wanted after/before ratio, best effort (rows spread evenly are added); 1 or more: left as it is. */
  targetRatio?: number;
  /** Rows carrying one of these terms are shown (the cut in term-match.ts applies). */
  matcher?: TermMatcher;
  /** The content hash of the original tool text: with it, omitted rows get a retrieval marker. */
  retrievalHash?: string;
}

export interface TableCompressResult {
  text: string;
  rows: number;
  shown: number;
  marked: boolean;
}

/** The legend's first words; the retention check reads the counts back from them. */
export const TABLE_LEGEND = /^\[table \((csv|tsv|pipe|aligned)\): (\d+) of (\d+) rows shown/;

/** A cell as a value: empty → null, a plain number → number, anything else the text itself. */
function cellValue(cell: string): string | number | null {
  if (cell.length === 0) return null;
  return NUMBER_CELL.test(cell) ? Number(cell) : cell;
}

/** The table's rows as objects keyed by column, profiled like a JSON array (null if it cannot be). */
export function profileTable(table: ParsedTable): RowsProfile | null {
  // fromEntries defines own properties: a `__proto__` column stays data.
  const rows: JsonObject[] = table.rows.map((row) => Object.fromEntries(table.columns.map((column, c) => [column, cellValue(row.cells[c])])));
  return profileRows(rows);
}

function gap(rows: number): string {
  return `[... ${plural(rows, 'row')} ...]`;
}

export function compressTable(text: string, options: TableCompressOptions = {}): TableCompressResult | null {
  if (options.targetRatio !== undefined && options.targetRatio >= 1) return null;
  const table = parseTable(text);
  if (table === null) return null;
  const profile = profileTable(table);
  if (profile === null) return null;
  const termRows = termRowsOf(profile, options.matcher);
  const shown = chooseRows(profile, termRows, options.targetRatio);
  const total = profile.rowCount;
  if (shown.length === total) return null; // every row matters: the table stays as it is

  const which = `a rare, error-like, empty, outlier or min/max value${termRows.length > 0 ? ', and every row carrying a term of the request' : ''}`;
  const out = [
    `[table (${table.format}): ${shown.length} of ${total} rows shown, as they were: first, last, and every row with ${which}; ` +
      `"[... N rows ...]" = rows left out; the JSON line's ${SUMMARY_KEYS.values} counts, ${SUMMARY_KEYS.range} and ${SUMMARY_KEYS.same} cover all rows]`,
    `{${[`"${SUMMARY_KEYS.rows}":${total}`, ...columnStatsParts(profile)].join(',')}}`,
    ...table.head,
  ];
  let next = 0;
  for (const r of shown) {
    if (r > next) out.push(gap(r - next));
    out.push(table.rows[r].line);
    next = r + 1;
  }
  if (next < total) out.push(gap(total - next));
  out.push(...table.tail);
  const marked = options.retrievalHash !== undefined;
  if (marked) out.push(retrievalMarker(`${formatCount(total - shown.length)} of ${formatCount(total)} rows omitted`, options.retrievalHash!));
  return { text: out.join('\n'), rows: total, shown: shown.length, marked };
}
