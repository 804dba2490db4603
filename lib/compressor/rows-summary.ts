/**
 * What the row transforms (JSON arrays in json.ts, tables in table.ts) share: which rows to show, and
 * the column statistics that stand for all rows (constant columns, value counts, ranges).
 */
import type { RowsProfile } from './json-profile';

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
  retrieve: '_retrieve',
} as const;

/**
 * The rows to show, ascending: the profile's must-keep rows, the term rows, and with a target ratio,
 * rows spread evenly through the array until about that share is shown.
 */
export function chooseRows(profile: RowsProfile, termRows: readonly number[], targetRatio: number | undefined): number[] {
  const shown = new Set(profile.mustKeep.keys());
  for (const r of termRows) shown.add(r);
  if (targetRatio !== undefined && targetRatio > 0) {
    const wanted = Math.min(profile.rowCount, Math.ceil(profile.rowCount * targetRatio));
    // Evenly spaced rows until the wanted count; the step halves until enough new rows are found.
    for (let step = profile.rowCount; shown.size < wanted && step >= 1; step = Math.floor(step / 2)) {
      for (let r = 0; r < profile.rowCount && shown.size < wanted; r += step) shown.add(r);
    }
  }
  return [...shown].sort((a, b) => a - b);
}

/** The `_same`, `_values` and `_range` members (those with content) of a summary, as JSON text. */
export function columnStatsParts(profile: RowsProfile): string[] {
  const same: string[] = [];
  const values: string[] = [];
  const ranges: string[] = [];
  for (const key of profile.keys) {
    const column = profile.columns.get(key)!;
    const name = JSON.stringify(key);
    if (profile.uniform && column.constant) {
      same.push(`${name}:${JSON.stringify([...column.values!.values()][0].value)}`);
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
  const k = SUMMARY_KEYS;
  const parts: string[] = [];
  if (same.length > 0) parts.push(`"${k.same}":{${same.join(',')}}`);
  if (values.length > 0) parts.push(`"${k.values}":{${values.join(',')}}`);
  if (ranges.length > 0) parts.push(`"${k.range}":{${ranges.join(',')}}`);
  return parts;
}
