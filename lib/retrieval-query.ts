/**
 * Retrieval with a query: only the rows (of a JSON array of objects) or lines (of anything else) of
 * an original that contain every term. Plain substring tests on lowercased text: no regular
 * expression is ever built from the query, so its cost stays linear in the original times the terms.
 *
 * Two implementations of one behaviour. {@link filterOriginal} is the synchronous reference: one
 * `JSON.parse` of the whole original, then one pass over its rows or lines. An original can be tens
 * of megabytes (as large as a request body), and that holds the event loop for 150–250 ms per query
 * at 20 MB. {@link filterOriginalAsync}, which the retrieval routes use, answers the very same bytes
 * in slices, giving the loop back (`setImmediate`) between them:
 *   1. a validating JSON scanner (resumable, a character state machine) checks the whole original
 *      is JSON and finds, as the reference does, the array of objects that holds the rows, keeping
 *      only where each row starts and ends;
 *   2. each row of that array is parsed, re-serialised and matched on its own;
 *   otherwise, or when the scan finds the text is not such JSON, lines are cut with `indexOf('\n')`.
 * What is still done in one go is one row or one line: a single row or line of many megabytes is
 * parsed, lowercased and searched at once, as before.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MAX_SEARCH_DEPTH, RowScanner } from './retrieval-row-scanner';

/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 1000;
/** Most terms in one query. */
export const MAX_QUERY_TERMS = 32;
/** How deep under the top-level object the main array of rows is looked for. */

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
 * otherwise non-empty lines. A query with no terms matches every item. Never throws, but for a
 * RangeError when a row nests thousands of levels deep (`JSON.stringify` runs out of stack).
 *
 * Synchronous: the whole original in one go. The reference for {@link filterOriginalAsync}, which
 * the retrieval routes use; kept for callers that may block (the answerability bench).
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

// ---------------------------------------------------------------------------------------------
// The same answer, in slices.

/** Characters scanned by the JSON scanner, of row text parsed and matched, and of lines matched, between two turns of the loop. */
const SCAN_SLICE = 1 << 20;
const ROW_SLICE = 1 << 18;
const LINE_SLICE = 1 << 20;

/** Lines of `text` from `pos`: the reference's `split('\n')`, a slice at a time. */
function* lineSteps(text: string, terms: readonly string[], slice: number): Generator<void, FilteredOriginal> {
  let content = '';
  let matchedCount = 0;
  let total = 0;
  let pos = 0;
  const len = text.length;
  for (;;) {
    const limit = pos + slice;
    const matched: string[] = [];
    let last = false;
    while (pos < limit) {
      const nl = text.indexOf('\n', pos);
      const end = nl === -1 ? len : nl;
      const line = end > pos && text.charCodeAt(end - 1) === 0x0d ? text.slice(pos, end - 1) : text.slice(pos, end);
      pos = end + 1;
      if (line.trim() !== '') {
        total++;
        if (matchesAll(line, terms)) matched.push(line);
      }
      if (nl === -1) {
        last = true;
        break;
      }
    }
    if (matched.length) {
      const piece = matched.join('\n');
      content = matchedCount ? `${content}\n${piece}` : piece;
      matchedCount += matched.length;
    }
    if (last) return { content, matched: matchedCount, total, unit: 'lines' };
    yield;
  }
}

/** The reference's answer, a slice at a time: yields between slices. */
function* filterSteps(text: string, terms: readonly string[], slices: { scan: number; rows: number; lines: number }): Generator<void, FilteredOriginal> {
  const scanner = new RowScanner(text);
  for (;;) {
    scanner.run(slices.scan);
    if (scanner.finished) break;
    yield;
  }
  if (text.length > 0) yield;
  const rows = scanner.valid ? scanner.rows : undefined;
  if (!rows) return yield* lineSteps(text, terms, slices.lines);
  const { bounds } = rows;
  let content = '';
  let matchedCount = 0;
  let i = 0;
  while (i < bounds.length) {
    const matched: string[] = [];
    for (let work = 0; i < bounds.length && work < slices.rows; i += 2) {
      const start = bounds[i];
      const end = bounds[i + 1];
      work += end - start;
      // The scan checked the whole text, so every row parses; one nested thousands of levels deep may
      // still overflow the stack in JSON.stringify (where the reference throws): then lines, as for text.
      let json: string;
      try {
        json = JSON.stringify(JSON.parse(text.slice(start, end)));
      } catch {
        return yield* lineSteps(text, terms, slices.lines);
      }
      if (matchesAll(json, terms)) matched.push(json);
    }
    if (matched.length) {
      const piece = matched.join(',');
      content = matchedCount ? `${content},${piece}` : piece;
      matchedCount += matched.length;
    }
    if (i < bounds.length) yield;
  }
  return { content: `[${content}]`, matched: matchedCount, total: rows.count, unit: 'rows' };
}

export interface FilterOptions {
  /** Stops the filter between two slices (it rejects with the signal's reason): a caller that went away. */
  signal?: AbortSignal;
  /** Characters per slice for every step (tests use small ones); default about 1 MB of scanning, 256 KB of rows, 1 MB of lines. */
  sliceChars?: number;
}

/**
 * {@link filterOriginal}'s answer, the same bytes, computed a slice at a time: the event loop gets a
 * turn (`setImmediate`) after every ~1 MB scanned, ~256 KB of rows matched or ~1 MB of lines.
 * Rejects only when `signal` aborts (with its reason). Where the reference throws (a row nested
 * too deep to re-serialise), this answers by lines instead.
 */
export async function filterOriginalAsync(original: string, query: string, options: FilterOptions = {}): Promise<FilteredOriginal> {
  const { signal } = options;
  signal?.throwIfAborted();
  const terms = queryTerms(typeof query === 'string' ? query : '').slice(0, MAX_QUERY_TERMS);
  const text = typeof original === 'string' ? original : '';
  const n = options.sliceChars;
  const slices = n !== undefined && Number.isInteger(n) && n > 0 ? { scan: n, rows: n, lines: n } : { scan: SCAN_SLICE, rows: ROW_SLICE, lines: LINE_SLICE };
  const steps = filterSteps(text, terms, slices);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await nextTurn();
    signal?.throwIfAborted();
  }
}
