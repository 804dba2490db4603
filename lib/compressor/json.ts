/**
 * JSON tool output. The document is minified; every long array of similar objects, at any depth,
 * becomes a summary that states the row count, the value counts of its low-cardinality columns,
 * the range of its numeric and date columns, and a table of the rows that matter (first, last and
 * every anomaly found by json-profile.ts), each with its original index.
 */
import { Json, JsonObject, RowsProfile, isPlainObject, isRowArray, profileRows } from './json-profile';

export interface JsonCompressOptions {
  /**
   * Wanted after/before ratio, best effort: rows spread evenly through the array are added until
   * about this share of rows is shown. Anomalies are shown whatever it says. 1 or more: no summaries.
   */
  targetRatio?: number;
}

export interface JsonCompressResult {
  text: string;
  /** Arrays replaced by a summary; 0 means the output is the same value, minified. */
  arraysSummarised: number;
}

/** Keys of the summary object, in the order they are written. */
export const SUMMARY_KEYS = {
  note: '_note',
  rows: '_rows',
  omitted: '_omitted',
  same: '_same',
  values: '_values',
  range: '_range',
  columns: '_columns',
  data: '_data',
} as const;

/**
 * Number literals that JSON.parse would change: integers past 2^53 (ids, snowflakes) lose digits and
 * huge exponents become Infinity. Such a document is only minified, text-wise, never re-serialised.
 */
const UNSAFE_NUMBER = /\d{16,}|[eE][+-]?\d{3,}/;

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

export function compressJson(text: string, options: JsonCompressOptions = {}): JsonCompressResult | null {
  const trimmed = text.trim();
  const parsed = parseJsonOrLines(trimmed);
  if (parsed === null) return null;
  if (UNSAFE_NUMBER.test(trimmed)) {
    return parsed.lines ? null : { text: minifyJsonText(trimmed), arraysSummarised: 0 };
  }
  const serializer = new Serializer(options.targetRatio);
  let out: string;
  try {
    out = serializer.write(parsed.value);
  } catch (error) {
    // Nesting deeper than the stack allows: minify the text instead of walking it.
    if (error instanceof RangeError) return parsed.lines ? null : { text: minifyJsonText(trimmed), arraysSummarised: 0 };
    throw error;
  }
  if (parsed.lines && serializer.arraysSummarised === 0) return null; // JSON Lines is already compact
  return { text: out, arraysSummarised: serializer.arraysSummarised };
}

class Serializer {
  arraysSummarised = 0;

  constructor(private readonly targetRatio: number | undefined) {}

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

  private shownRows(profile: RowsProfile): number[] {
    const shown = new Set(profile.mustKeep.keys());
    if (this.targetRatio !== undefined && this.targetRatio > 0) {
      const wanted = Math.min(profile.rowCount, Math.ceil(profile.rowCount * this.targetRatio));
      // Evenly spaced rows until the wanted count; the step halves until enough new rows are found.
      for (let step = profile.rowCount; shown.size < wanted && step >= 1; step = Math.floor(step / 2)) {
        for (let r = 0; r < profile.rowCount && shown.size < wanted; r += step) shown.add(r);
      }
    }
    return [...shown].sort((a, b) => a - b);
  }

  private writeSummary(rows: readonly JsonObject[], profile: RowsProfile): string {
    this.arraysSummarised++;
    const shown = this.shownRows(profile);
    const parts: string[] = [];
    const k = SUMMARY_KEYS;
    parts.push(
      `"${k.note}":${JSON.stringify(
        `${shown.length} of ${profile.rowCount} rows shown: first, last, and every row with a rare, error-like, null, outlier or min/max value; ` +
          `${k.values} counts, ${k.range} and ${k.same} cover all rows`,
      )}`,
    );
    parts.push(`"${k.rows}":${profile.rowCount}`, `"${k.omitted}":${profile.rowCount - shown.length}`);

    const same: string[] = [];
    const values: string[] = [];
    const ranges: string[] = [];
    for (const key of profile.keys) {
      const column = profile.columns.get(key)!;
      const name = JSON.stringify(key);
      if (profile.uniform && column.constant) {
        same.push(`${name}:${this.write([...column.values!.values()][0].value)}`);
        continue;
      }
      if (column.lowCardinality && column.values !== null) {
        const counts = [...column.values.values()].sort((a, b) => b.count - a.count || a.first - b.first);
        const labels = new Set<string>();
        const entries: string[] = [];
        for (const { value, count } of counts) {
          // Strings are written as themselves; other values as their JSON text (`5`, `true`, `null`).
          let label = typeof value === 'string' ? value : JSON.stringify(value);
          if (labels.has(label)) label = JSON.stringify(value); // `"5"` next to `5`
          labels.add(label);
          entries.push(`${JSON.stringify(label)}:${count}`);
        }
        values.push(`${name}:{${entries.join(',')}}`);
      }
      if (column.numeric !== null && column.numeric.min !== column.numeric.max) {
        ranges.push(`${name}:[${JSON.stringify(column.numeric.min)},${JSON.stringify(column.numeric.max)}]`);
      } else if (column.dateRange !== null) {
        ranges.push(`${name}:[${JSON.stringify(column.dateRange.min)},${JSON.stringify(column.dateRange.max)}]`);
      }
    }
    if (same.length > 0) parts.push(`"${k.same}":{${same.join(',')}}`);
    if (values.length > 0) parts.push(`"${k.values}":{${values.join(',')}}`);
    if (ranges.length > 0) parts.push(`"${k.range}":{${ranges.join(',')}}`);

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
