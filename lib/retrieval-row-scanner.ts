/**
 * The JSON scanner behind `filterOriginalAsync` (retrieval-query.ts): checks a whole original with the
 * rules `JSON.parse` uses, a slice at a time, and finds the rows array the synchronous filter would
 * (the largest array of objects, at the top or under objects to {@link MAX_SEARCH_DEPTH} levels, in
 * `Object.values` order), recording only where each row starts and ends. Its own module because it
 * is a byte-level state machine, large and separate from what a query matches.
 */

/** How deep under objects the rows array is looked for (both filters). */
export const MAX_SEARCH_DEPTH = 16;

/** An array of objects the scanner follows: where each row starts and ends (pairs of offsets), while every element so far is an object. */
export interface RowArray {
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
export class RowScanner {
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
