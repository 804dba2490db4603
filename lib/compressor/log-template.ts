/**
 * Line templates: a log line with its variable parts (timestamps, ids, prefixed ids like
 * `req_9f3a0b1c2d`, hex, addresses, numbers) replaced by typed placeholders. Lines that differ only in those parts share a template, which is
 * what the log transform folds and what the retention check counts.
 */

export type SlotKind = 'ts' | 'id' | 'hex' | 'ip' | 'n';

export interface LineTemplate {
  /** The line with each variable part replaced by `<kind>`. */
  template: string;
  /** The replaced parts, in order (shared and frozen when there are none: read only). */
  values: readonly string[];
  kinds: readonly SlotKind[];
}

// The variable parts, as one sticky alternation tried in this order at a position where a part can
// start: a timestamp before the numbers inside it, a UUID before the hex inside it, an address before
// its numbers. The scan in templateLine only tries it at the start of a word that begins with a digit
// (or, for hex and UUIDs, a word made of hex characters), several times faster than one global
// regex tried at every position.
const END = String.raw`(?![0-9A-Za-z_])`;
const TIMESTAMP = String.raw`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?` + String.raw`|\d{4}[-/]\d{2}[-/]\d{2}|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?`;
const UUID = String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}${END}`;
/** 0x-hex, or a lower-case hex word of 8+ characters with a digit and a letter (commit, hash, request id). */
const HEX = String.raw`0x[0-9a-fA-F]+${END}|(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{8,}${END}`;
/** IPv4 with optional port. */
const IP = String.raw`\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?${END}`;
/** A number with an optional unit. */
const NUMBER = String.raw`\d+(?:\.\d+)?(?:ms|us|µs|ns|s|m|h|d|b|kb|mb|gb|KB|MB|GB|KiB|MiB|GiB|B|%)?${END}`;

const DIGIT_START = new RegExp(`(${TIMESTAMP})|(${UUID})|(${HEX})|(${IP})|(${NUMBER})`, 'y');
const DIGIT_START_KINDS: SlotKind[] = ['ts', 'id', 'hex', 'ip', 'n'];
const HEX_LETTER_START = new RegExp(`(${UUID})|(${HEX})`, 'y');
const HEX_LETTER_START_KINDS: SlotKind[] = ['id', 'hex'];
/** syslog's `Nov 26 10:00:00`. */
const SYSLOG_TIMESTAMP = /(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}/y;
/** J F M A S O N D: the initials of the month names. */
const MONTH_INITIAL = new Set([74, 70, 77, 65, 83, 79, 78, 68]);

const PLACEHOLDER_OF: Record<SlotKind, string> = { ts: '<ts>', id: '<id>', hex: '<hex>', ip: '<ip>', n: '<n>' };

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function matchAt(line: string, at: number, pattern: RegExp, kinds: readonly SlotKind[]): [string, SlotKind] | null {
  pattern.lastIndex = at;
  const m = pattern.exec(line);
  if (m === null) return null;
  for (let g = 1; g <= kinds.length; g++) if (m[g] !== undefined) return [m[0], kinds[g - 1]];
  return null;
}

/** Does the word at `at` begin with 8 hex characters (the shortest hex id or UUID head)? */
function startsWithHexRun(line: string, at: number): boolean {
  if (at + 8 > line.length) return false;
  for (let k = at; k < at + 8; k++) if (!isHexChar(line.charCodeAt(k))) return false;
  return true;
}

const UNITS = new Set(['ms', 'us', 'ns', 's', 'm', 'h', 'd', 'b', 'kb', 'mb', 'gb', 'KB', 'MB', 'GB', 'KiB', 'MiB', 'GiB', 'B']);

/**
 * The two commonest parts that need more than a digit run, found without the regex (which is most
 * of the cost of a log line): a lower-case hex word (`9f001eef`) and a number with a unit (`48ms`).
 * `digitsEnd` is where the word's leading digits end. Returns null when the word may be anything
 * else (a UUID, a date, an address, a decimal), for the regex to decide; where it answers, it gives
 * what the regex would (`__tests__/compressor/log.test.ts` compares the two on generated lines).
 */
function simpleWordPart(line: string, start: number, digitsEnd: number): [string, SlotKind] | null {
  let end = digitsEnd;
  let lowerHex = true;
  let hexLetter = false;
  let digit = digitsEnd > start;
  for (; end < line.length; end++) {
    const c = line.charCodeAt(end);
    if (!isWordChar(c)) break;
    if (c >= 97 && c <= 102) hexLetter = true;
    else if (isDigit(c)) digit = true;
    else lowerHex = false;
  }
  // A word followed by `-` may be the head of a UUID. (A digit run followed by `.`, `:` or `/` ends
  // the word at once and matches neither case below: dates, times, addresses and decimals go on to the patterns.)
  if (end < line.length && line.charCodeAt(end) === 45) return null;
  if (lowerHex && hexLetter && end - start >= 8) return digit ? [line.slice(start, end), 'hex'] : null; // HEX wants a digit too
  if (digitsEnd > start && UNITS.has(line.slice(digitsEnd, end))) return [line.slice(start, end), 'n'];
  return null;
}

const NO_PARTS: readonly never[] = Object.freeze([]);

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * An id made of a short prefix of letters, `_`, and six or more letters and digits with a digit among
 * them, or three digits or more: `req_9f3a0b1c2d`, `cus_0889fc4d`, `usr_10023` (APIs name ids this way).
 * Without it every line carrying one is a template of its own and nothing folds. A word that only
 * looks like one (`log_level2`) is harmless: a slot that never varies is written as its value.
 */
function prefixedId(line: string, at: number): [string, SlotKind] | null {
  let j = at;
  while (j < line.length && j - at < 16 && isLetter(line.charCodeAt(j))) j++;
  if (line.charCodeAt(j) !== 95 /* _ */) return null;
  let k = j + 1;
  let digits = 0;
  for (; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (isDigit(c)) digits++;
    else if (!isLetter(c)) break;
  }
  const length = k - j - 1;
  // `req_abc123_x` is a name, not an id; so is an id glued to more word characters.
  if (k < line.length && isWordChar(line.charCodeAt(k))) return null;
  if (!((length >= 6 && digits > 0) || (length >= 3 && digits === length))) return null;
  return [line.slice(at, k), 'id'];
}

/**
 * The template of one line. `shortcuts: false` turns off `simpleWordPart` so every part that is not a
 * plain integer goes through the patterns: the tests compare the two.
 */
export function templateLine(line: string, shortcuts = true): LineTemplate {
  // Allocated at the first part: many lines have none.
  let values: string[] | undefined;
  let kinds: SlotKind[] | undefined;
  // Pieces joined once at the end: `+=` would build a rope that every Map lookup has to flatten.
  let pieces: string[] | undefined;
  const n = line.length;
  let last = 0;
  let i = 0;
  // A part starts at a word start: not after a letter, digit, `_` or `.` (so `v2`, `x86`, `1.2.3`'s tail stay).
  let afterWordOrDot = false;
  while (i < n) {
    const c = line.charCodeAt(i);
    const isWord = isWordChar(c);
    if (!isWord || afterWordOrDot) {
      afterWordOrDot = isWord || c === 46;
      i++;
      continue;
    }
    let found: [string, SlotKind] | null = null;
    if (c <= 57 /* digit: a word char below 'A' */) {
      // Fast path for the commonest part, a plain integer (`[4000]`, `size=50 `): digits followed by
      // something that cannot continue a timestamp, decimal, address, unit or hex word.
      let j = i + 1;
      while (j < n && isDigit(line.charCodeAt(j))) j++;
      const next = j < n ? line.charCodeAt(j) : 32;
      if (!isWordChar(next) && next !== 45 && next !== 46 && next !== 47 && next !== 58) found = [line.slice(i, j), 'n'];
      else found = (shortcuts ? simpleWordPart(line, i, j) : null) ?? matchAt(line, i, DIGIT_START, DIGIT_START_KINDS);
    } else if (isHexChar(c) && startsWithHexRun(line, i)) {
      found = (shortcuts ? simpleWordPart(line, i, i) : null) ?? matchAt(line, i, HEX_LETTER_START, HEX_LETTER_START_KINDS);
    } else if (MONTH_INITIAL.has(c) && line.charCodeAt(i + 3) === 32) {
      SYSLOG_TIMESTAMP.lastIndex = i;
      const m = SYSLOG_TIMESTAMP.exec(line);
      if (m !== null) found = [m[0], 'ts'];
    }
    if (found === null) {
      // Skip the rest of the word: no part starts inside it, unless it is a prefixed id (it holds a `_`).
      const start = i;
      let underscore = false;
      i++;
      for (let w = line.charCodeAt(i); i < n && isWordChar(w); w = line.charCodeAt(++i)) if (w === 95) underscore = true;
      afterWordOrDot = true;
      if (!underscore || !isLetter(c)) continue;
      found = prefixedId(line, start);
      if (found === null) continue;
      i = start;
    }
    const [value, kind] = found;
    if (pieces === undefined) {
      pieces = [];
      values = [];
      kinds = [];
    }
    pieces.push(line.slice(last, i), PLACEHOLDER_OF[kind]);
    values!.push(value);
    kinds!.push(kind);
    i += value.length;
    last = i;
    const end = line.charCodeAt(i - 1);
    afterWordOrDot = isWordChar(end) || end === 46;
  }
  if (pieces === undefined) return { template: line, values: NO_PARTS, kinds: NO_PARTS };
  pieces.push(line.slice(last));
  return { template: pieces.join(''), values: values!, kinds: kinds! };
}

/**
 * The comparable shape of a line, whether it is an original line or a folded one whose slots were
 * written as `<20..39>`, `<a|b>` or a literal: every `<...>` and every variable part becomes `<*>`.
 * Used by the retention check to pair each original template with the folded line that stands for it.
 */
export function lineShape(line: string): string {
  const slotsMarked = line.replace(/<[^<>\n]*>/g, '<*>');
  return templateLine(slotsMarked).template.replace(/<[^<>\n]*>/g, '<*>');
}
