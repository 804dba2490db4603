/**
 * What a long array of similar objects ("rows") holds: its columns, the values of its
 * low-cardinality columns, the range of its numeric columns, and which rows are anomalies that must
 * never be dropped. The JSON transform picks the rows it shows from this profile; the retention check
 * uses the same profile to say what must have survived.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Below this many rows an array is shown whole: the summary would cost as much as the rows. */
export const MIN_ROWS = 8;

/**
 * Strings that say something went wrong. A row holding one is kept whole. Letters, not word
 * boundaries, delimit the words, so `payment_failed` and `card_declined` match.
 */
export const ERROR_LIKE =
  /(?<![A-Za-z])(?:errors?|err|fail(?:s|ed|ure|ures|ing)?|exceptions?|timeouts?|timed[ _-]?out|time[ _-]out|denied|declined|refused|rejected|fatal|panic(?:ked)?|crash(?:ed|es)?|abort(?:ed)?|unauthori[sz]ed|forbidden|unavailable|unreachable|invalid)(?![A-Za-z])/i;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A row as dotted paths to its cells: nested objects are opened (`customer.tier`), arrays and empty
 * objects are cells. Returns null when two paths collide (a key `"a.b"` next to `{"a":{"b":…}}`).
 */
export function flattenRow(row: JsonObject): Map<string, Json> | null {
  const cells = new Map<string, Json>();
  const walk = (object: JsonObject, prefix: string): boolean => {
    for (const key of Object.keys(object)) {
      const value = object[key];
      const path = prefix === '' ? key : `${prefix}.${key}`;
      if (isPlainObject(value) && Object.keys(value).length > 0) {
        if (!walk(value, path)) return false;
      } else {
        if (cells.has(path)) return false;
        cells.set(path, value);
      }
    }
    return true;
  };
  return walk(row, '') ? cells : null;
}

/** An array worth summarising: enough rows, all objects, mostly sharing their keys. */
export function isRowArray(value: readonly Json[]): value is JsonObject[] {
  if (value.length < MIN_ROWS) return false;
  const union = new Set<string>();
  let keyTotal = 0;
  for (const row of value) {
    if (!isPlainObject(row)) return false;
    const keys = Object.keys(row);
    keyTotal += keys.length;
    for (const key of keys) union.add(key);
  }
  // Similar rows: the union of keys is not much larger than an average row's key set.
  return union.size > 0 && union.size <= 1.5 * (keyTotal / value.length);
}

/** A scalar cell: the only kind whose values are counted. Map keys keep `1` and `"1"` apart by themselves. */
export type Scalar = string | number | boolean | null;

export interface ValueCount {
  value: Scalar;
  count: number;
  first: number;
}

export interface ColumnProfile {
  key: string;
  /** Rows holding this path. */
  present: number;
  nulls: number;
  /** Distinct values with counts; null once the column has too many distinct values, or a non-scalar one. */
  values: Map<Scalar, ValueCount> | null;
  lowCardinality: boolean;
  /** Every row holds the same value. */
  constant: boolean;
  numeric: { min: number; max: number; minRow: number; maxRow: number } | null;
  /** ISO dates/timestamps sort as text: their first and last. */
  dateRange: { min: string; max: string } | null;
}

export interface RowsProfile {
  rowCount: number;
  /** Column paths in order of first appearance. */
  keys: string[];
  columns: Map<string, ColumnProfile>;
  flatRows: Map<string, Json>[];
  /** Every row has the same set of paths: the rows can be written as a table. */
  uniform: boolean;
  /** Rows that must be shown, each with why. */
  mustKeep: Map<number, string[]>;
}

export function lowCardinalityLimit(rowCount: number): number {
  return Math.max(2, Math.min(20, Math.floor(rowCount / 4)));
}

export function rareLimit(rowCount: number): number {
  return Math.max(1, Math.floor(rowCount * 0.05));
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Profiles an array that passed {@link isRowArray}. Returns null if a row's paths collide. */
export function profileRows(rows: readonly JsonObject[]): RowsProfile | null {
  const rowCount = rows.length;
  const cardinalityLimit = lowCardinalityLimit(rowCount);
  const flatRows: Map<string, Json>[] = [];
  const columns = new Map<string, ColumnProfile>();
  const keys: string[] = [];
  const dateCandidate = new Map<string, boolean>();

  for (let r = 0; r < rowCount; r++) {
    const flat = flattenRow(rows[r]);
    if (flat === null) return null;
    flatRows.push(flat);
    for (const [key, value] of flat) {
      let column = columns.get(key);
      if (column === undefined) {
        column = { key, present: 0, nulls: 0, values: new Map(), lowCardinality: false, constant: false, numeric: null, dateRange: null };
        columns.set(key, column);
        keys.push(key);
        dateCandidate.set(key, true);
      }
      column.present++;
      if (value === null) column.nulls++;
      // Value counts are kept for scalar columns only: a count of each distinct array or object is
      // neither compact nor what "the values of a field" means to a reader.
      if (column.values !== null && typeof value === 'object' && value !== null) column.values = null;
      if (column.values !== null) {
        const scalar = value as Scalar;
        const seen = column.values.get(scalar);
        if (seen !== undefined) seen.count++;
        else if (column.values.size >= cardinalityLimit) column.values = null;
        else column.values.set(scalar, { value: scalar, count: 1, first: r });
      }
      if (typeof value === 'number' && Number.isFinite(value)) {
        const n = column.numeric;
        if (n === null) column.numeric = { min: value, max: value, minRow: r, maxRow: r };
        else if (value < n.min) {
          n.min = value;
          n.minRow = r;
        } else if (value > n.max) {
          n.max = value;
          n.maxRow = r;
        }
      }
      if (value !== null && dateCandidate.get(key)) {
        if (typeof value === 'string' && ISO_DATE.test(value)) {
          const d = column.dateRange;
          if (d === null) column.dateRange = { min: value, max: value };
          else if (value < d.min) d.min = value;
          else if (value > d.max) d.max = value;
        } else {
          dateCandidate.set(key, false);
          column.dateRange = null;
        }
      }
    }
  }

  let uniform = true;
  for (const column of columns.values()) {
    if (column.present !== rowCount) uniform = false;
    column.lowCardinality = column.values !== null && column.values.size < rowCount;
    column.constant = column.present === rowCount && column.values !== null && column.values.size === 1;
    if (column.dateRange !== null && column.dateRange.min === column.dateRange.max) column.dateRange = null;
  }

  return { rowCount, keys, columns, flatRows, uniform, mustKeep: findMustKeepRows(flatRows, columns) };
}

function findMustKeepRows(flatRows: readonly Map<string, Json>[], columns: Map<string, ColumnProfile>): Map<number, string[]> {
  const rowCount = flatRows.length;
  const rare = rareLimit(rowCount);
  const keep = new Map<number, string[]>();
  const mark = (row: number, reason: string) => {
    const reasons = keep.get(row);
    if (reasons === undefined) keep.set(row, [reason]);
    else if (!reasons.includes(reason)) reasons.push(reason);
  };
  mark(0, 'first');
  mark(rowCount - 1, 'last');

  for (const column of columns.values()) {
    // A value of a low-cardinality column that occurs rarely, both overall and against the column's
    // average frequency (a column of 20 values over 90 rows has every value "rare" by count alone).
    if (column.lowCardinality && column.values !== null && column.values.size > 1) {
      const average = column.present / column.values.size;
      const rareValues = new Set<Scalar>();
      for (const [value, v] of column.values) if (v.count <= rare && v.count <= average / 2) rareValues.add(value);
      if (rareValues.size > 0) {
        for (let r = 0; r < rowCount; r++) {
          const value = flatRows[r].get(column.key);
          if (value !== undefined && rareValues.has(value as Scalar)) mark(r, `rare:${column.key}`);
        }
      }
    }
    // Nulls where the other rows have values; a path missing from a few rows; a path only a few rows have.
    const nonNull = column.present - column.nulls;
    const nullsAreRare = column.nulls > 0 && column.nulls <= rare && nonNull > 0;
    const missing = rowCount - column.present;
    const missingIsRare = missing > 0 && missing <= rare;
    const presenceIsRare = column.present <= rare && column.present < rowCount;
    if (nullsAreRare || missingIsRare || presenceIsRare) {
      for (let r = 0; r < rowCount; r++) {
        const value = flatRows[r].get(column.key);
        if (nullsAreRare && value === null) mark(r, `null:${column.key}`);
        if (missingIsRare && value === undefined) mark(r, `missing:${column.key}`);
        if (presenceIsRare && value !== undefined) mark(r, `only:${column.key}`);
      }
    }
    if (column.numeric !== null && column.numeric.min !== column.numeric.max) {
      mark(column.numeric.minRow, `min:${column.key}`);
      mark(column.numeric.maxRow, `max:${column.key}`);
      for (const r of farOutliers(flatRows, column.key, rare)) mark(r, `outlier:${column.key}`);
    }
  }

  // Error-like values. When most rows look like errors they are the norm, not an anomaly: the
  // low-cardinality counts describe them, and keeping them all would keep the whole array.
  const errorRows: number[] = [];
  const errorNamed = new Map<string, boolean>();
  for (const key of columns.keys()) errorNamed.set(key, ERROR_LIKE.test(key.slice(key.lastIndexOf('.') + 1)));
  // Columns repeat their values: test each distinct string once.
  const errorLikeString = new Map<string, boolean>();
  for (let r = 0; r < rowCount; r++) {
    for (const [key, value] of flatRows[r]) {
      let errorLike: boolean;
      if (typeof value === 'string') {
        let known = errorLikeString.get(value);
        if (known === undefined) errorLikeString.set(value, (known = ERROR_LIKE.test(value)));
        errorLike = known;
      } else errorLike = isErrorLike(value);
      if (errorLike || (errorNamed.get(key) === true && holdsSomething(value))) {
        errorRows.push(r);
        break;
      }
    }
  }
  if (errorRows.length <= rowCount / 2) for (const r of errorRows) mark(r, 'error-like');
  return keep;
}

/**
 * Rows whose number lies beyond Tukey's far-out fences (three interquartile ranges past the
 * quartiles): the second-slowest request at 9870 ms among 20-180 ms ones is not the max, yet it is
 * an anomaly. Only when there are few of them (at most `limit`); a heavy tail is not an anomaly.
 */
function farOutliers(flatRows: readonly Map<string, Json>[], key: string, limit: number): number[] {
  const numbers: number[] = [];
  for (const row of flatRows) {
    const value = row.get(key);
    if (typeof value === 'number' && Number.isFinite(value)) numbers.push(value);
  }
  if (numbers.length < MIN_ROWS) return [];
  const sorted = Float64Array.from(numbers).sort();
  const q1 = sorted[Math.floor(0.25 * (sorted.length - 1))];
  const q3 = sorted[Math.floor(0.75 * (sorted.length - 1))];
  const spread = q3 - q1;
  if (spread <= 0) return [];
  const low = q1 - 3 * spread;
  const high = q3 + 3 * spread;
  const rows: number[] = [];
  for (let r = 0; r < flatRows.length; r++) {
    const value = flatRows[r].get(key);
    if (typeof value === 'number' && (value < low || value > high)) rows.push(r);
  }
  return rows.length <= limit ? rows : [];
}

export function isErrorLike(value: Json): boolean {
  if (typeof value === 'string') return ERROR_LIKE.test(value);
  if (value !== null && typeof value === 'object') return ERROR_LIKE.test(JSON.stringify(value));
  return false;
}

/** A value that, in a field named like an error (`error`, `failed`, `timeout_count`), says one happened. */
function holdsSomething(value: Json): boolean {
  if (value === null || value === false || value === 0 || value === '') return false;
  return !(Array.isArray(value) && value.length === 0);
}

/** A field named like an error holding something: `"error": "boom"`, `"failed": true`, `"timeouts": 3`. */
export function isErrorFlag(key: string, value: Json): boolean {
  return holdsSomething(value) && ERROR_LIKE.test(key.slice(key.lastIndexOf('.') + 1));
}
