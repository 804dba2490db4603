/**
 * Salient terms of a tool output's context (context.ts): the values a question or a tool call names,
 * which the transforms keep every row and line of. Extracted, in this order of priority, from the
 * call's arguments and then the question:
 *
 * 1. quoted strings (`"…"`, `'…'`, `` `…` ``, `“…”`);
 * 2. `field=value` / `field: value` pairs (the pair, then the value alone);
 * 3. identifiers and codes: tokens mixing letters with digits, `_`, `-`, `.` or `/` (`T-5000`,
 *    `acct_562`, `p1`, `ERR_CONN_RESET`, `500ms`, `E1234`), CamelCase (`PaymentError`), all-caps
 *    words (`USD`), numbers of three digits or more (`502`), dates, addresses and times;
 * 4. plain content words (`refunded`), stemmed (words.ts) and minus stopwords.
 *
 * Everything here is bounded because clients choose these strings: the last {@link MAX_QUESTION_CHARS}
 * of the question, {@link MAX_ARGUMENT_CHARS} of argument text, at most {@link MAX_TERMS} terms of at
 * most {@link MAX_TERM_CHARS} characters. Every scan is a single pass with bounded look-ahead (no
 * backtracking regex), so the time is linear in the (bounded) input.
 */
import type { ToolOutputContext } from './context';
import { STOPWORDS, isWordCode, stem } from './words';

export const MAX_QUESTION_CHARS = 4000;
export const MAX_ARGUMENT_CHARS = 2000;
export const MAX_TERMS = 64;
export const MAX_TERM_CHARS = 128;
/** Arguments up to this size are parsed as JSON (so keys are not taken for values); longer ones are read as text. */
const MAX_ARGUMENT_JSON_CHARS = 65_536;
/** JSON argument nodes visited, and their depth. */
const MAX_ARGUMENT_NODES = 256;
const MAX_ARGUMENT_DEPTH = 16;

/**
 * - `text`: found as a whole word or phrase, case-insensitive (`p1`, `t-5000`, `late fee`).
 * - `stem`: a plain word, found as any word of the same stem (`refund` finds `refunded`).
 * - `pair`: `field` and `text` as a cell of that field (JSON), or `field=text` / `field: text` in a line.
 */
export type TermKind = 'text' | 'stem' | 'pair';

export interface Term {
  kind: TermKind;
  /** Lower case: the text to find, the stem, or the pair's value. */
  text: string;
  /** `pair` only: the field, lower case. */
  field?: string;
  /** As a reader would write it: `status=refunded`, `late fee`, `refunded`. */
  label: string;
  /**
   * Where it was found. The question says what is asked now; the arguments say what the tool was
   * asked, which for a follow-up question may be an older, broader search (term-rows.ts weighs them).
   */
  source: TermSource;
}

export type TermSource = 'arguments' | 'question' | 'both';

/** Argument keys whose values steer the tool, not name data (`limit: 50` names no row). */
const CONTROL_KEYS = new Set(['limit', 'offset', 'page', 'page_size', 'pagesize', 'per_page', 'max_results', 'max', 'top', 'size', 'timeout', 'depth', 'max_tokens', 'cursor']);

const OPEN_TO_CLOSE: Record<string, string> = { '"': '"', "'": "'", '`': '`', '“': '”', '‘': '’', '«': '»' };

/** Units that follow a number as a separate word (`500 ms`): joined into one term (`500ms`). */
const UNITS = new Set(['ms', 's', 'sec', 'secs', 'm', 'min', 'mins', 'h', 'us', 'ns', 'b', 'kb', 'mb', 'gb', 'tb', 'kib', 'mib', 'gib', '%']);

const RANK = { quoted: 0, pair: 1, value: 2, identifier: 3, word: 4 } as const;

class Collector {
  private readonly found = new Map<string, { term: Term; rank: number; order: number }>();
  /** What is being scanned; set by extractTerms. */
  source: 'arguments' | 'question' = 'arguments';

  add(rank: number, kind: TermKind, text: string, label: string, field?: string): void {
    // The label holds the text (and a pair's field): bounding it bounds every part of the term.
    if (text.length === 0 || text.length > MAX_TERM_CHARS || label.length > MAX_TERM_CHARS || field?.length === 0) return;
    const key = `${kind}\u0000${field ?? ''}\u0000${text}`;
    const seen = this.found.get(key);
    if (seen === undefined) {
      const term: Term = field === undefined ? { kind, text, label, source: this.source } : { kind, text, field, label, source: this.source };
      this.found.set(key, { term, rank, order: this.found.size });
      return;
    }
    if (rank < seen.rank) seen.rank = rank;
    if (seen.term.source !== this.source) seen.term.source = 'both';
  }

  terms(): Term[] {
    return [...this.found.values()]
      .sort((a, b) => a.rank - b.rank || a.order - b.order)
      .slice(0, MAX_TERMS)
      .map((entry) => entry.term);
  }
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `-` `.` `/` `@` join word runs into one token (`T-5000`, `api.v2`); `:` only between digits (`10:30`). */
function joinsAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 45 || c === 46 || c === 47 || c === 64) return true;
  return c === 58 && isDigitCode(text.charCodeAt(i - 1)) && isDigitCode(text.charCodeAt(i + 1));
}

/** End of the token starting at `start` (a word character): word runs joined by single joiners. */
function tokenEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    if (isWordCode(text.charCodeAt(i))) i++;
    else if (i + 1 < text.length && joinsAt(text, i) && isWordCode(text.charCodeAt(i + 1))) i++;
    else break;
  }
  return i;
}

/** Quoted strings: the close must come within MAX_TERM_CHARS + 1 characters (bounded look-ahead). */
function scanQuoted(text: string, out: Collector): void {
  for (let i = 0; i < text.length; i++) {
    const close = OPEN_TO_CLOSE[text[i]];
    if (close === undefined || (i > 0 && isWordCode(text.charCodeAt(i - 1)))) continue; // `what's` opens nothing
    const limit = Math.min(text.length, i + MAX_TERM_CHARS + 2);
    for (let j = i + 1; j < limit; j++) {
      if (text[j] === '\n') break;
      if (text[j] !== close || (j + 1 < text.length && isWordCode(text.charCodeAt(j + 1)))) continue;
      const inner = text.slice(i + 1, j).trim();
      if (inner.length > 0) out.add(RANK.quoted, 'text', inner.toLowerCase(), inner);
      i = j;
      break;
    }
  }
}

/** Skips up to three spaces or tabs from `at`. */
function skipBlanks(text: string, at: number): number {
  let j = at;
  while (j < at + 3 && (text[j] === ' ' || text[j] === '\t')) j++;
  return j;
}

/** After a token ending at `end`: `=value`, `: value`, `":"value"` (bounded look-ahead). The value, or undefined. */
function pairValue(text: string, end: number): string | undefined {
  let j = end;
  if (text[j] === '"' || text[j] === "'") j++;
  j = skipBlanks(text, j);
  if (text[j] !== '=' && text[j] !== ':') return undefined;
  j = skipBlanks(text, j + 1);
  const quote = text[j];
  if (quote === '"' || quote === "'") {
    const limit = Math.min(text.length, j + MAX_TERM_CHARS + 2);
    for (let k = j + 1; k < limit && text[k] !== '\n'; k++) if (text[k] === quote) return text.slice(j + 1, k).trim() || undefined;
    return undefined;
  }
  if (j >= text.length || !isWordCode(text.charCodeAt(j))) return undefined;
  return text.slice(j, Math.min(tokenEnd(text, j), j + MAX_TERM_CHARS + 1));
}

/** Flags and empty values (`fuzzy: true`) name no row. */
const FLAG_VALUES = new Set(['true', 'false', 'null', 'none', 'nil', 'undefined']);

/** A value alone is a term unless it is a stopword, a flag, one character, or a number under three digits. */
function valueWorthAlone(value: string): boolean {
  const lower = value.toLowerCase();
  if (lower.length < 2 || STOPWORDS.has(lower) || FLAG_VALUES.has(lower)) return false;
  return !/^\d{1,2}$/.test(lower);
}

/**
 * Adds the term a token is (identifier, number, content word), if any. A plain word before `=` or `:`
 * (`isField`) is a field name, not a value: `status` in `status=refunded` would find every row with a
 * status. An identifier there stays one (`T-5000: is it closed?`).
 */
function classifyToken(token: string, next: string, out: Collector, isField: boolean): void {
  if (token.length > MAX_TERM_CHARS) return;
  let letters = 0;
  let digits = 0;
  let other = 0;
  let upper = 0;
  let camel = false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (isDigitCode(c)) digits++;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 128) {
      letters++;
      if (c >= 65 && c <= 90) {
        upper++;
        if (i > 0 && token.charCodeAt(i - 1) >= 97 && token.charCodeAt(i - 1) <= 122) camel = true;
      }
    } else other++; // `_` and joiners
  }
  const lower = token.toLowerCase();
  if (letters === 0) {
    // Numbers: three digits or more (status codes, ids), or structured (dates, times, addresses).
    if (digits >= 3 || other > 0) out.add(RANK.identifier, 'text', lower, token);
    if (UNITS.has(next)) out.add(RANK.identifier, 'text', `${lower}${next}`, `${token}${next}`);
    return;
  }
  if (digits > 0 || other > 0 || camel || (upper === letters && letters >= 2)) {
    if (!STOPWORDS.has(lower)) out.add(RANK.identifier, 'text', lower, token);
    return;
  }
  if (!isField && lower.length >= 3 && !STOPWORDS.has(lower)) out.add(RANK.word, 'stem', stem(lower), lower);
}

/** The word after `end`, lower case, when it is short (a unit candidate). */
function nextWord(text: string, end: number): string {
  let j = end;
  if (text[j] === ' ') j++;
  if (text[j] === '%') return '%';
  const stop = Math.min(text.length, j + 4);
  let k = j;
  while (k < stop && isWordCode(text.charCodeAt(k))) k++;
  return k > j && (k === text.length || !isWordCode(text.charCodeAt(k))) ? text.slice(j, k).toLowerCase() : '';
}

/** All terms of a free text: quoted strings, pairs, identifiers, numbers, content words. */
function scanText(text: string, out: Collector): void {
  scanQuoted(text, out);
  let i = 0;
  while (i < text.length) {
    if (!isWordCode(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const end = tokenEnd(text, i);
    const token = text.slice(i, end);
    const value = pairValue(text, end);
    if (value !== undefined) {
      out.add(RANK.pair, 'pair', value.toLowerCase(), `${token}=${value}`, token.toLowerCase());
      if (valueWorthAlone(value)) out.add(RANK.value, 'text', value.toLowerCase(), value);
    }
    classifyToken(token, nextWord(text, end), out, value !== undefined);
    i = end;
  }
}

interface Budget {
  chars: number;
  nodes: number;
}

/** Walks parsed JSON arguments: string and number values are values (with their key as a pair), keys are not. */
function walkArguments(value: unknown, key: string | undefined, depth: number, budget: Budget, out: Collector): void {
  if (budget.nodes-- <= 0 || budget.chars <= 0 || depth > MAX_ARGUMENT_DEPTH) return;
  if (key !== undefined && CONTROL_KEYS.has(key.toLowerCase()) && (typeof value === 'string' || typeof value === 'number')) return;
  if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value).slice(0, budget.chars);
    budget.chars -= text.length;
    const trimmed = text.trim();
    if (trimmed.length > 0 && trimmed.length <= MAX_TERM_CHARS && !trimmed.includes('\n')) {
      if (key !== undefined && key.length <= MAX_TERM_CHARS) out.add(RANK.pair, 'pair', trimmed.toLowerCase(), `${key}=${trimmed}`, key.toLowerCase());
      if (valueWorthAlone(trimmed)) out.add(RANK.value, 'text', trimmed.toLowerCase(), trimmed);
    }
    scanText(text, out);
  } else if (Array.isArray(value)) {
    for (const item of value) walkArguments(item, key, depth + 1, budget, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) walkArguments(v, k, depth + 1, budget, out);
  }
}

function scanArguments(args: string, out: Collector): void {
  const head = args.trimStart()[0];
  if (args.length <= MAX_ARGUMENT_JSON_CHARS && (head === '{' || head === '[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined) {
      walkArguments(parsed, undefined, 0, { chars: MAX_ARGUMENT_CHARS, nodes: MAX_ARGUMENT_NODES }, out);
      return;
    }
  }
  scanText(args.slice(0, MAX_ARGUMENT_CHARS), out);
}

/** The last MAX_QUESTION_CHARS of a question, from a word start (a cut word would read as another term). */
function questionTail(question: string): string {
  if (question.length <= MAX_QUESTION_CHARS) return question;
  let start = question.length - MAX_QUESTION_CHARS;
  while (start < question.length && isWordCode(question.charCodeAt(start - 1)) && isWordCode(question.charCodeAt(start))) start++;
  return question.slice(start);
}

/** The salient terms of a context, at most {@link MAX_TERMS}, most specific first. */
export function extractTerms(context: ToolOutputContext | undefined): Term[] {
  if (context === undefined) return [];
  const out = new Collector();
  if (typeof context.toolArguments === 'string' && context.toolArguments.length > 0) scanArguments(context.toolArguments, out);
  out.source = 'question';
  if (typeof context.question === 'string' && context.question.length > 0) scanText(questionTail(context.question), out);
  return out.terms();
}

/** The salient terms of a context as a reader would write them (`status=refunded`, `T-5000`, `refunded`). */
export function salientTerms(context: ToolOutputContext): string[] {
  return extractTerms(context).map((term) => term.label);
}
