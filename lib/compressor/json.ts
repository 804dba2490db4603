/**
 * JSON tool output. The document is minified; every long array of similar objects, at any depth,
 * becomes a summary that states the row count, the value counts of its low-cardinality columns,
 * the range of its numeric and date columns, and a table of the rows that matter (first, last and
 * every anomaly found by json-profile.ts, and every row carrying a salient term of the request),
 * each with its original index.
 *
 * Reversible: when rows are left out and a retrieval hash is given, the first summary written (the
 * outermost, first in document order) gets a `_retrieve` key holding Headroom's marker,
 * `[<n> of <m> rows omitted. Retrieve more: hash=<24 hex>]`. A key of the summary object, which is
 * ours, so the output stays valid JSON and no key of the data can collide with it.
 */
import { Json, JsonObject, RowsProfile, isPlainObject, isRowArray, profileRows } from './json-profile';
import { retrievalMarker } from '../ccr';
import { formatCount } from './omission';
import { SUMMARY_KEYS, chooseRows, columnStatsParts } from './rows-summary';
import type { TermMatcher } from './term-match';
import { termRowsOf } from './term-rows';

export interface JsonCompressOptions {
  /**
   * Wanted after/before ratio, best effort: rows spread evenly through the array are added until
   * about this share of rows is shown. Anomalies are shown whatever it says. 1 or more: no summaries.
   */
  targetRatio?: number;
  /** Rows carrying one of these terms are shown (the cut in term-match.ts applies). */
  matcher?: TermMatcher;
  /** The content hash of the original tool text: with it, omitted rows get a retrieval marker. */
  retrievalHash?: string;
}

export interface JsonCompressResult {
  text: string;
  /** Arrays replaced by a summary; 0 means the output is the same value, minified. */
  arraysSummarised: number;
  /** Rows not shown, over every summary. */
  rowsOmitted: number;
  /** A retrieval marker was written. */
  marked: boolean;
}

export { SUMMARY_KEYS };

/**
 * Where the `_retrieve` key goes, reserved in the first summary and filled in once the whole
 * document is written (only then is the number of omitted rows known). A raw NUL cannot occur in
 * serialised JSON (JSON.stringify escapes it), so the sentinel cannot clash with data.
 */
const RETRIEVE_SLOT = '\u0000';

/** The shapes of unsafe numbers, anywhere in the text (strings included): a cheap first test. */
const DIGITS_OR_EXPONENT = /\d{16,}|[eE][+-]?\d{3,}/;

/** Is the character at `at` escaped (preceded by an odd number of backslashes)? */
function escapedAt(text: string, at: number): boolean {
  let backslashes = 0;
  while (at - backslashes - 1 >= 0 && text.charCodeAt(at - backslashes - 1) === 92) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * Does the JSON text hold a number literal that JSON.parse would change: a run of 16 digits or more
 * (ids and snowflakes past 2^53 lose digits) or an exponent of three digits or more (huge exponents
 * become Infinity)? Such a document is only minified, text-wise, never re-serialised. Strings are
 * skipped: a commit hash `"3e105ab"` or a long numeric id written as a string is safe, and a regex over
 * the whole text took it for a number and kept every array of such a document unsummarised.
 */
export function hasUnsafeNumber(text: string): boolean {
  // Most texts have no such run of digits anywhere: the native regex says so fastest.
  if (!DIGITS_OR_EXPONENT.test(text)) return false;
  let inString = false;
  let digits = 0;
  /** Digits since an `e`/`E` that follows a digit, or -1 outside an exponent. */
  let exponent = -1;
  for (let i = 0; i < text.length; i++) {
    if (inString) {
      // Jump to the closing quote: one not escaped by an odd run of backslashes.
      let close = text.indexOf('"', i);
      while (close !== -1 && escapedAt(text, close)) close = text.indexOf('"', close + 1);
      if (close === -1) return false;
      i = close;
      inString = false;
      continue;
    }
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= 16) return true;
      if (exponent >= 0 && ++exponent >= 3) return true;
      continue;
    }
    if ((c === 101 || c === 69) && digits > 0) exponent = 0;
    else if (!((c === 43 || c === 45) && exponent === 0)) exponent = -1; // a sign right after the e stays in it
    digits = 0;
    if (c === 34) inString = true;
  }
  return false;
}

/** Removes the whitespace between tokens of a JSON text without parsing it: literals stay byte for byte. */
export function minifyJsonText(text: string): string {
  const parts: string[] = [];
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 32 || c === 10 || c === 13 || c === 9) {
      if (i > start) parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) parts.push(text.slice(start));
  return parts.join('');
}

/** Parses JSON, or JSON Lines (one object per line) as an array of its rows. */
export function parseJsonOrLines(text: string): { value: Json; lines: boolean } | null {
  try {
    return { value: JSON.parse(text) as Json, lines: false };
  } catch {
    // Not one document; maybe JSON Lines.
  }
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  if (lines.length < 2) return null;
  const rows: Json[] = [];
  for (const line of lines) {
    if (line.trimStart()[0] !== '{') return null;
    try {
      rows.push(JSON.parse(line) as Json);
    } catch {
      return null;
    }
  }
  return { value: rows, lines: true };
}

function minified(text: string): JsonCompressResult {
  return { text: minifyJsonText(text), arraysSummarised: 0, rowsOmitted: 0, marked: false };
}

export function compressJson(text: string, options: JsonCompressOptions = {}): JsonCompressResult | null {
  const trimmed = text.trim();
  const parsed = parseJsonOrLines(trimmed);
  if (parsed === null) return null;
  if (hasUnsafeNumber(trimmed)) return parsed.lines ? null : minified(trimmed);
  const matcher = options.matcher !== undefined && options.matcher.terms.length > 0 ? options.matcher : undefined;
  const serializer = new Serializer(options.targetRatio, matcher);
  let out: string;
  try {
    out = serializer.write(parsed.value);
  } catch (error) {
    // Nesting deeper than the stack allows: minify the text instead of walking it.
    if (error instanceof RangeError) return parsed.lines ? null : minified(trimmed);
    throw error;
  }
  if (parsed.lines && serializer.arraysSummarised === 0) return null; // JSON Lines is already compact
  const { rowsOmitted, rowsTotal, arraysSummarised } = serializer;
  const marked = rowsOmitted > 0 && options.retrievalHash !== undefined;
  let marker = '';
  if (marked) {
    const arrays = serializer.arraysWithOmissions;
    const where = arrays > 1 ? ` across ${formatCount(arrays)} arrays` : '';
    marker = `,"${SUMMARY_KEYS.retrieve}":${JSON.stringify(retrievalMarker(`${formatCount(rowsOmitted)} of ${formatCount(rowsTotal)} rows omitted${where}`, options.retrievalHash!))}`;
  }
  return { text: out.replace(RETRIEVE_SLOT, marker), arraysSummarised, rowsOmitted, marked };
}

class Serializer {
  arraysSummarised = 0;
  arraysWithOmissions = 0;
  rowsOmitted = 0;
  rowsTotal = 0;

  constructor(
    private readonly targetRatio: number | undefined,
    private readonly matcher: TermMatcher | undefined,
  ) {}

  /** Writes a value as minified JSON, summarising row arrays on the way. Strings are built, never objects, so keys like `__proto__` stay plain data. */
  write(value: Json): string {
    if (Array.isArray(value)) {
      if ((this.targetRatio === undefined || this.targetRatio < 1) && isRowArray(value)) {
        const profile = profileRows(value);
        if (profile !== null) return this.writeSummary(value, profile);
      }
      return `[${value.map((item) => this.write(item)).join(',')}]`;
    }
    if (isPlainObject(value)) {
      const parts: string[] = [];
      for (const key of Object.keys(value)) parts.push(`${JSON.stringify(key)}:${this.write(value[key])}`);
      return `{${parts.join(',')}}`;
    }
    return JSON.stringify(value);
  }

  private writeSummary(rows: readonly JsonObject[], profile: RowsProfile): string {
    // The first summary begun holds the marker slot: nested summaries are written inside it.
    const slot = this.arraysSummarised === 0 ? RETRIEVE_SLOT : '';
    this.arraysSummarised++;
    const termRows = termRowsOf(profile, this.matcher);
    const shown = chooseRows(profile, termRows, this.targetRatio);
    const omitted = profile.rowCount - shown.length;
    this.rowsTotal += profile.rowCount;
    this.rowsOmitted += omitted;
    if (omitted > 0) this.arraysWithOmissions++;
    const parts: string[] = [];
    const k = SUMMARY_KEYS;
    const which =
      termRows.length > 0
        ? 'a rare, error-like, null, outlier or min/max value, and every row carrying a term of the request'
        : 'a rare, error-like, null, outlier or min/max value';
    parts.push(
      `"${k.note}":${JSON.stringify(`${shown.length} of ${profile.rowCount} rows shown: first, last, and every row with ${which}; ${k.values} counts, ${k.range} and ${k.same} cover all rows`)}`,
    );
    parts.push(`"${k.rows}":${profile.rowCount}`, `"${k.omitted}":${omitted}${slot}`);

    parts.push(...columnStatsParts(profile));

    if (profile.uniform) {
      // A table: the column names once, then each shown row as [index, cells...].
      const columns = profile.keys.filter((key) => !profile.columns.get(key)!.constant);
      parts.push(`"${k.columns}":${JSON.stringify(['#', ...columns])}`);
      const data = shown.map((r) => {
        const flat = profile.flatRows[r];
        return `[${[String(r), ...columns.map((key) => this.write(flat.get(key)!))].join(',')}]`;
      });
      parts.push(`"${k.data}":[${data.join(',')}]`);
    } else {
      // Rows with different shapes stay objects, keyed by their index.
      parts.push(`"${k.data}":{${shown.map((r) => `"${r}":${this.write(rows[r])}`).join(',')}}`);
    }
    return `{${parts.join(',')}}`;
  }
}
