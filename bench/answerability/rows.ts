/**
 * Rows with a planted answer: a minority of rows get the question's values, every other row is kept
 * off the answer (one of its matching fields redrawn), so the answer set is exactly the planted rows.
 */
import { Rng, answerCount } from './prng';

export type Row = Record<string, unknown>;

/** The value at a dotted path (`customer.tier`). */
export function getPath(row: unknown, path: string): unknown {
  let v: unknown = row;
  for (const key of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Row)[key] : undefined;
  return v;
}

function setPath(row: Row, path: string, value: unknown): void {
  const keys = path.split('.');
  let v: Row = row;
  for (const key of keys.slice(0, -1)) v = v[key] as Row;
  v[keys[keys.length - 1]] = value;
}

export function rowMatches(row: unknown, where: Record<string, unknown>): boolean {
  return Object.entries(where).every(([path, value]) => getPath(row, path) === value);
}

/**
 * `n` rows from `make`; about 2–15% of them (at least 2) get `where`'s values. `domains` lists, per
 * field in `where`, the values a non-answer row may take instead.
 */
export function plantRows(
  rng: Rng,
  n: number,
  make: (rng: Rng, i: number) => Row,
  where: Record<string, string | number | boolean>,
  domains: Record<string, readonly (string | number | boolean)[]>,
): Row[] {
  const answers = new Set(rng.indexes(n, answerCount(rng, n)));
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const row = make(rng, i);
    if (answers.has(i)) {
      for (const [path, value] of Object.entries(where)) setPath(row, path, value);
    } else if (rowMatches(row, where)) {
      const path = rng.pick(Object.keys(where));
      setPath(row, path, rng.pickOther(domains[path], where[path]));
    }
    rows.push(row);
  }
  return rows;
}
