/**
 * Retrieval with a query: only the rows (of a JSON array of objects) or lines (of anything else) of
 * an original that contain every term. Plain substring tests on lowercased text: no regular
 * expression is ever built from the query, so its cost stays linear in the original times the terms.
 */

/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 1000;
/** Most terms in one query. */
export const MAX_QUERY_TERMS = 32;
/** How deep under the top-level object the main array of rows is looked for. */
const MAX_SEARCH_DEPTH = 16;

export interface FilteredOriginal {
  /** The matching rows as a compact JSON array, or the matching lines joined by `\n`. */
  content: string;
  matched: number;
  total: number;
  unit: 'rows' | 'lines';
}

const isSpace = (ch: string) => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v' || ch === '\u00a0';

/**
 * The query's terms, lowercased: words split on white space, `"quoted phrases"` kept whole (an
 * unterminated quote runs to the end). Empty terms are dropped. Not capped: callers check
 * {@link MAX_QUERY_TERMS} to refuse, {@link filterOriginal} uses the first ones only.
 */
export function queryTerms(query: string): string[] {
  const terms: string[] = [];
  const q = query.slice(0, MAX_QUERY_LENGTH);
  let i = 0;
  while (i < q.length) {
    if (isSpace(q[i])) {
      i++;
      continue;
    }
    let end: number;
    let term: string;
    if (q[i] === '"') {
      end = q.indexOf('"', i + 1);
      if (end === -1) end = q.length;
      term = q.slice(i + 1, end).trim();
      end++;
    } else {
      end = i;
      while (end < q.length && !isSpace(q[end])) end++;
      term = q.slice(i, end);
    }
    if (term) terms.push(term.toLowerCase());
    i = end;
  }
  return terms;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isObjectArray = (v: unknown): v is Record<string, unknown>[] => Array.isArray(v) && v.length > 0 && v.every(isPlainObject);

/** The largest array of objects under `obj`, through nested objects (not through arrays). */
function largestObjectArray(obj: Record<string, unknown>, depth: number): Record<string, unknown>[] | undefined {
  let best: Record<string, unknown>[] | undefined;
  for (const v of Object.values(obj)) {
    const found = isObjectArray(v) ? v : isPlainObject(v) && depth < MAX_SEARCH_DEPTH ? largestObjectArray(v, depth + 1) : undefined;
    if (found && (!best || found.length > best.length)) best = found;
  }
  return best;
}

/** The rows of an original whose main payload is an array of objects, else undefined. */
function mainRows(original: string): Record<string, unknown>[] | undefined {
  const first = original.trimStart()[0];
  if (first !== '[' && first !== '{') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(original);
  } catch {
    return undefined;
  }
  if (isObjectArray(value)) return value;
  return isPlainObject(value) ? largestObjectArray(value, 0) : undefined;
}

const matchesAll = (item: string, terms: readonly string[]) => {
  if (terms.length === 0) return true;
  const lower = item.toLowerCase();
  return terms.every((t) => lower.includes(t));
};

/**
 * The items of `original` that contain every term of `query` (case-insensitive). Items are rows
 * when the original is JSON whose main payload is an array of objects (top level, or the largest
 * such array under the top-level object, as `{"tickets":[…]}`), matched on their compact JSON;
 * otherwise non-empty lines. A query with no terms matches every item. Never throws.
 */
export function filterOriginal(original: string, query: string): FilteredOriginal {
  const terms = queryTerms(typeof query === 'string' ? query : '').slice(0, MAX_QUERY_TERMS);
  const text = typeof original === 'string' ? original : '';
  const rows = mainRows(text);
  if (rows) {
    const matched: string[] = [];
    for (const row of rows) {
      const json = JSON.stringify(row);
      if (matchesAll(json, terms)) matched.push(json);
    }
    return { content: `[${matched.join(',')}]`, matched: matched.length, total: rows.length, unit: 'rows' };
  }
  const matched: string[] = [];
  let total = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    total++;
    if (matchesAll(line, terms)) matched.push(line);
  }
  return { content: matched.join('\n'), matched: matched.length, total, unit: 'lines' };
}
