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

/** An array of objects the scanner follows: where each row starts and ends (pairs of offsets), while every element so far is an object. */
interface RowArray {
  count: number;
  objects: boolean;
  bounds: number[];
}

/** A key of a searched object: where it sits in `Object.values` order and the largest array of objects found through its value. */
interface KeyEntry {
  /** The key as an array index (0 … 2³² − 2), listed first in ascending order; −1 for any other key, listed in insertion order. */
  index: number;
  order: number;
  best: RowArray | undefined;
  listed: boolean;
}

/** An object whose values are searched for rows (the top-level object and objects under it, to {@link MAX_SEARCH_DEPTH}). */
interface SearchedObject {
  depth: number;
  keys: Map<string, KeyEntry>;
  /** Entries that ever held an array of objects, in first-seen order. */
  candidates: KeyEntry[];
  nextOrder: number;
  pending: string;
}

type Frame = { array: true; rows: RowArray | undefined } | { array: false; searched: SearchedObject | undefined };
const UNTRACKED_ARRAY: Frame = { array: true, rows: undefined };
const UNTRACKED_OBJECT: Frame = { array: false, searched: undefined };

const MAX_ARRAY_INDEX = 4294967294;
function arrayIndex(key: string): number {
  const n = key.length;
  if (n === 0 || n > 10) return -1;
  const first = key.charCodeAt(0);
  if (first === 0x30) return n === 1 ? 0 : -1;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  const v = Number(key);
  return v <= MAX_ARRAY_INDEX ? v : -1;
}

/** Whether `a` comes before `b` in `Object.values` order: array indices first, ascending, then other keys as inserted. */
const before = (a: KeyEntry, b: KeyEntry) => (a.index >= 0 ? b.index < 0 || a.index < b.index : b.index < 0 && a.order < b.order);

/** `largestObjectArray` of the reference, from what the scan kept: the first (in value order) of the longest. */
function bestOf(o: SearchedObject): RowArray | undefined {
  let best: KeyEntry | undefined;
  for (const e of o.candidates) {
    if (!e.best) continue;
    if (!best || e.best.count > best.best!.count || (e.best.count === best.best!.count && before(e, best))) best = e;
  }
  return best?.best;
}

// Scanner states.
const VALUE = 0;
const VALUE_OR_CLOSE = 1;
const KEY_OR_CLOSE = 2;
const KEY = 3;
const COLON = 4;
const AFTER_VALUE = 5;
const STRING = 6;
const NUMBER = 7;
const LITERAL = 8;
const DONE = 9;
/** Not JSON, or JSON that the reference reads by lines (a top-level array holding something else than objects). */
const FAILED = 10;

// Number sub-states (the JSON grammar): after '-', after a leading 0, in the integer, after '.', in the fraction, after 'e', after its sign, in the exponent.
const N_MINUS = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_ESIGN = 6;
const N_EXP = 7;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads an original as `JSON.parse` would accept it (the grammar of RFC 8259, JSON white space
 * only), one slice at a time, and keeps what {@link mainRows} needs: the arrays of objects that are
 * values of searched objects (or the top-level array), with their rows' offsets. Objects inside
 * rows, inside other arrays, or deeper than the search are only checked.
 */
class RowScanner {
  pos = 0;
  state = VALUE;
  /** Set when the scan ends on valid JSON: the array of objects holding the rows (undefined: none, search by lines). */
  rows: RowArray | undefined;
  private readonly stack: Frame[] = [];
  /** The top-level array or object has closed. */
  private closed = false;
  // The string being read: where it started, whether it is a key, whether it holds an escape, and the escape state (0 none, 1 after '\', 5…2 hex digits to read).
  private strStart = 0;
  private strKey = false;
  private strEscaped = false;
  private esc = 0;
  private num = N_INT;
  private literal = '';
  private litAt = 0;

  constructor(private readonly text: string) {}

  get finished(): boolean {
    return this.state === DONE || this.state === FAILED;
  }

  get valid(): boolean {
    return this.state === DONE;
  }

  /** Scans up to `budget` characters further; at the end of the text, decides. */
  run(budget: number): void {
    const text = this.text;
    const len = text.length;
    const limit = Math.min(len, this.pos + budget);
    let pos = this.pos;
    let state = this.state;
    while (pos < limit && state !== FAILED) {
      const c = text.charCodeAt(pos);
      switch (state) {
        case STRING: {
          let esc = this.esc;
          // The long run: plain characters up to a quote, a backslash or a control character.
          if (esc === 0) {
            let p = pos;
            let d = c;
            while (d !== 0x22 && d !== 0x5c && d >= 0x20) {
              if (++p >= limit) break;
              d = text.charCodeAt(p);
            }
            pos = p;
            if (pos >= limit) continue;
            if (d === 0x22) {
              state = this.endString(pos);
              pos++;
              continue;
            }
            if (d < 0x20) {
              state = FAILED;
              continue;
            }
            // A backslash.
            this.strEscaped = true;
            esc = 1;
          } else if (esc === 1) {
            if (c === 0x75) esc = 5;
            else if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) esc = 0;
            else state = FAILED;
          } else if (isHex(c)) esc = esc === 2 ? 0 : esc - 1;
          else state = FAILED;
          this.esc = esc;
          pos++;
          continue;
        }
        case NUMBER: {
          const n = this.num;
          let next = -1;
          if (isDigit(c)) {
            if (n === N_MINUS) next = c === 0x30 ? N_ZERO : N_INT;
            else if (n === N_INT || n === N_FRAC || n === N_EXP) next = n;
            else if (n === N_DOT) next = N_FRAC;
            else if (n === N_E || n === N_ESIGN) next = N_EXP;
            // N_ZERO: a leading zero takes no more digits.
          } else if (c === 0x2e) {
            if (n === N_ZERO || n === N_INT) next = N_DOT;
          } else if (c === 0x65 || c === 0x45) {
            if (n === N_ZERO || n === N_INT || n === N_FRAC) next = N_E;
          } else if (c === 0x2b || c === 0x2d) {
            if (n === N_E) next = N_ESIGN;
          } else if (n === N_ZERO || n === N_INT || n === N_FRAC || n === N_EXP) {
            // The number ended before this character, which is read again after the value.
            state = this.endValue(undefined, pos);
            continue;
          }
          if (next === -1) state = FAILED;
          else {
            this.num = next;
            pos++;
          }
          continue;
        }
        case LITERAL: {
          if (c !== this.literal.charCodeAt(this.litAt)) {
            state = FAILED;
            continue;
          }
          pos++;
          if (++this.litAt === this.literal.length) state = this.endValue(undefined, pos);
          continue;
        }
        default:
          break;
      }
      if (isJsonSpace(c)) {
        pos++;
        continue;
      }
      switch (state) {
        case VALUE_OR_CLOSE:
          if (c === 0x5d) {
            pos++;
            state = this.close(true, pos);
            continue;
          }
        // falls through: the first element
        case VALUE:
          state = this.beginValue(c, pos);
          pos++;
          continue;
        case KEY_OR_CLOSE:
          if (c === 0x7d) {
            pos++;
            state = this.close(false, pos);
            continue;
          }
        // falls through: the first key
        case KEY:
          if (c !== 0x22) state = FAILED;
          else {
            this.strStart = pos;
            this.strKey = true;
            this.strEscaped = false;
            this.esc = 0;
            state = STRING;
            pos++;
          }
          continue;
        case COLON:
          if (c !== 0x3a) state = FAILED;
          else {
            state = VALUE;
            pos++;
          }
          continue;
        case AFTER_VALUE: {
          const top = this.stack[this.stack.length - 1];
          if (!top) state = FAILED;
          else if (c === 0x2c) state = top.array ? VALUE : KEY;
          else if (c === (top.array ? 0x5d : 0x7d)) state = this.close(top.array, pos + 1);
          else state = FAILED;
          pos++;
          continue;
        }
        default:
          state = FAILED;
      }
    }
    this.pos = pos;
    this.state = state;
    if (pos >= len && state !== FAILED) {
      // The end of the text: valid only after the top-level value, with nothing open.
      this.state = state === AFTER_VALUE && this.closed ? DONE : FAILED;
      if (this.state === FAILED) this.rows = undefined;
    }
  }

  /** A value starts with `c` at `pos`; the new state. */
  private beginValue(c: number, pos: number): number {
    const parent = this.stack[this.stack.length - 1];
    const parentRows = parent?.array ? parent.rows : undefined;
    if (parentRows) {
      parentRows.count++;
      if (c === 0x7b) {
        if (parentRows.objects) parentRows.bounds.push(pos);
      } else if (parentRows.objects) {
        // Something else than an object in the top-level array: the reference reads the text by lines, whatever follows.
        if (this.stack.length === 1) return FAILED;
        parentRows.objects = false;
        parentRows.bounds = [];
      }
    }
    if (c === 0x7b || c === 0x5b) {
      const array = c === 0x5b;
      const searched = parent ? (parent.array ? undefined : parent.searched) : undefined;
      let frame: Frame;
      if (array) frame = !parent || searched ? { array: true, rows: { count: 0, objects: true, bounds: [] } } : UNTRACKED_ARRAY;
      else if (!parent) frame = { array: false, searched: newSearched(0) };
      else frame = searched && searched.depth < MAX_SEARCH_DEPTH ? { array: false, searched: newSearched(searched.depth + 1) } : UNTRACKED_OBJECT;
      this.stack.push(frame);
      return array ? VALUE_OR_CLOSE : KEY_OR_CLOSE;
    }
    // Only an array or an object at the top level (the reference reads anything else by lines).
    if (!parent) return FAILED;
    if (c === 0x22) {
      this.strStart = pos;
      this.strKey = false;
      this.strEscaped = false;
      this.esc = 0;
      return STRING;
    }
    if (c === 0x2d || isDigit(c)) {
      this.num = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
      return NUMBER;
    }
    this.literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : '';
    if (!this.literal) return FAILED;
    this.litAt = 1;
    return LITERAL;
  }

  /** The closing quote of a string at `pos`. */
  private endString(pos: number): number {
    if (!this.strKey) return this.endValue(undefined, pos + 1);
    const top = this.stack[this.stack.length - 1] as { array: false; searched: SearchedObject | undefined };
    if (top.searched) {
      const raw = this.text.slice(this.strStart + 1, pos);
      top.searched.pending = this.strEscaped ? (JSON.parse(`"${raw}"`) as string) : raw;
    }
    return COLON;
  }

  /** The container on top closes (its closing character ends before `end`). */
  private close(array: boolean, end: number): number {
    const frame = this.stack.pop()!;
    let best: RowArray | undefined;
    if (array) {
      const rows = (frame as { rows: RowArray | undefined }).rows;
      best = rows && rows.objects && rows.count > 0 ? rows : undefined;
    } else {
      const searched = (frame as { searched: SearchedObject | undefined }).searched;
      best = searched ? bestOf(searched) : undefined;
    }
    if (this.stack.length === 0) {
      // The top-level value: the reference's rows are its array when every element is an object, else the largest found under its object.
      this.closed = true;
      this.rows = best;
    }
    return this.endValue(best, end, !array);
  }

  /** A value ended before `end`: the parent takes it; `best` is the largest array of objects found through it. */
  private endValue(best: RowArray | undefined, end: number, object = false): number {
    const parent = this.stack[this.stack.length - 1];
    if (!parent) return AFTER_VALUE;
    if (parent.array) {
      if (object && parent.rows?.objects) parent.rows.bounds.push(end);
      return AFTER_VALUE;
    }
    const o = parent.searched;
    if (o) {
      let e = o.keys.get(o.pending);
      if (!e) {
        e = { index: arrayIndex(o.pending), order: o.nextOrder++, best, listed: false };
        o.keys.set(o.pending, e);
      } else e.best = best; // a repeated key: the last value, in the first one's place
      if (best && !e.listed) {
        e.listed = true;
        o.candidates.push(e);
      }
    }
    return AFTER_VALUE;
  }
}

const newSearched = (depth: number): SearchedObject => ({ depth, keys: new Map(), candidates: [], nextOrder: 0, pending: '' });

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
