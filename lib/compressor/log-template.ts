/**
 * Line templates: a log line with its variable parts (timestamps, ids, hex, addresses, numbers)
 * replaced by typed placeholders. Lines that differ only in those parts share a template, which is
 * what the log transform folds and what the retention check counts.
 */

export type SlotKind = 'ts' | 'id' | 'hex' | 'ip' | 'n';

export interface LineTemplate {
  /** The line with each variable part replaced by `<kind>`. */
  template: string;
  /** The replaced parts, in order. */
  values: string[];
  kinds: SlotKind[];
}

// Each kind of variable part as a sticky pattern, tried in this order at a position where a part
// can start: a timestamp before the numbers inside it, a UUID before the hex inside it, an address
// before its numbers. An explicit scan (below) only tries them at the start of a word that begins with
// a digit or a hex letter, which is several times faster than one big alternation tried everywhere.
const END = String.raw`(?![0-9A-Za-z_])`;
const TIMESTAMP = new RegExp(
  String.raw`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?` +
    String.raw`|\d{4}[-/]\d{2}[-/]\d{2}|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?`,
  'y',
);
/** syslog's `Nov 26 10:00:00`. */
const SYSLOG_TIMESTAMP = /(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}/y;
const UUID = new RegExp(String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}${END}`, 'y');
/** 0x-hex, or a lower-case hex word of 8+ characters with a digit and a letter (commit, hash, request id). */
const HEX = new RegExp(String.raw`0x[0-9a-fA-F]+${END}|(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{8,}${END}`, 'y');
/** IPv4 with optional port. */
const IP = new RegExp(String.raw`\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?${END}`, 'y');
/** A number with an optional unit. */
const NUMBER = new RegExp(String.raw`\d+(?:\.\d+)?(?:ms|us|µs|ns|s|m|h|d|b|kb|mb|gb|KB|MB|GB|KiB|MiB|GiB|B|%)?${END}`, 'y');

const DIGIT_PATTERNS: [RegExp, SlotKind][] = [
  [TIMESTAMP, 'ts'],
  [UUID, 'id'],
  [HEX, 'hex'],
  [IP, 'ip'],
  [NUMBER, 'n'],
];
const HEX_LETTER_PATTERNS: [RegExp, SlotKind][] = [
  [UUID, 'id'],
  [HEX, 'hex'],
];

const SYSLOG_PATTERNS: [RegExp, SlotKind][] = [[SYSLOG_TIMESTAMP, 'ts']];
/** J F M A S O N D: the initials of the month names. */
const MONTH_INITIAL = new Set([74, 70, 77, 65, 83, 79, 78, 68]);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function tryAt(line: string, at: number, patterns: readonly [RegExp, SlotKind][]): [string, SlotKind] | null {
  for (const [pattern, kind] of patterns) {
    pattern.lastIndex = at;
    const m = pattern.exec(line);
    if (m !== null) return [m[0], kind];
  }
  return null;
}

export function templateLine(line: string): LineTemplate {
  const values: string[] = [];
  const kinds: SlotKind[] = [];
  let template = '';
  let last = 0;
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    // A part starts at a word start: not after a letter, digit, `_` or `.` (so `v2`, `x86`, `1.2.3`'s tail stay).
    const prev = i === 0 ? 32 : line.charCodeAt(i - 1);
    if (!isWordChar(c) || isWordChar(prev) || prev === 46) {
      i++;
      continue;
    }
    let found: [string, SlotKind] | null = null;
    if (c >= 48 && c <= 57) {
      // Fast path for the commonest part, a plain integer (`[4000]`, `size=50 `): digits followed by
      // something that cannot continue a timestamp, decimal, address, unit or hex word.
      let j = i + 1;
      while (j < line.length && isDigit(line.charCodeAt(j))) j++;
      const next = j < line.length ? line.charCodeAt(j) : 32;
      if (!isWordChar(next) && next !== 45 && next !== 46 && next !== 47 && next !== 58) found = [line.slice(i, j), 'n'];
      else found = tryAt(line, i, DIGIT_PATTERNS);
    } else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) found = tryAt(line, i, HEX_LETTER_PATTERNS);
    if (found === null && MONTH_INITIAL.has(c) && i + 3 < line.length && line.charCodeAt(i + 3) === 32) found = tryAt(line, i, SYSLOG_PATTERNS);
    if (found === null) {
      // Skip the rest of the word: no part starts inside it.
      i++;
      while (i < line.length && isWordChar(line.charCodeAt(i))) i++;
      continue;
    }
    const [value, kind] = found;
    template += `${line.slice(last, i)}<${kind}>`;
    values.push(value);
    kinds.push(kind);
    i += value.length;
    last = i;
  }
  return { template: last === 0 ? line : template + line.slice(last), values, kinds };
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
