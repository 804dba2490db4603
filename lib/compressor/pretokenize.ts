/**
 * The pre-tokenizer of OpenAI's o200k_base and cl100k_base encodings, written out as a scanner for
 * ASCII text.
 *
 * A BPE count is two steps: a regular expression cuts the text into pre-tokens, then each pre-token
 * is merged into tokens on its own. In gpt-tokenizer the first step (a Unicode-property regex run
 * through `matchAll`, one array per match) costs more than the second, because tool output repeats
 * the same few pre-tokens (`"status":"`, `,`, ` the`, three-digit chunks) thousands of times and
 * their merges are cached. This module does the first step for ASCII text with a lookup table and
 * no allocation, and reports each pre-token as a (start, end) pair; `tokens.ts` counts the pieces
 * through a memo. Text that holds non-ASCII characters is cut at places no pre-token crosses, and only
 * the parts holding them go through the library's regex.
 *
 * Equivalence with the library's regexes (gpt-tokenizer 4, `encodingParams/constants.js`) is the
 * contract of this module: `__tests__/compressor/pretokenize.test.ts` compares the pieces on generated
 * strings built from the characters each branch of the regexes turns on, and on the fixtures.
 *
 * On ASCII text the o200k regex
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}…]*[\p{Ll}…]+(?:'s|'t|'re|'ve|'m|'ll|'d)?   (case-insensitive suffix)
 *   | [^\r\n\p{L}\p{N}]?[\p{Lu}…]+[\p{Ll}…]*(?:…)?
 *   | \p{N}{1,3} |  ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * comes down to, at each position, the first rule that applies:
 *   1. letters: an optional prefix (any character but a letter, digit, CR or LF) when a letter
 *      follows it, then the run of upper-case letters, then the run of lower-case letters, then a
 *      contraction suffix if one follows;
 *   2. one to three digits;
 *   3. punctuation: an optional space, the run of characters that are neither blank, letter nor digit,
 *      then the run of CR, LF and `/`;
 *   4. a blank run holding a line break: up to and including its last CR or LF;
 *   5. any other blank run: all of it at the end of the text; all but its last character when it is
 *      longer than one; else its one character.
 * cl100k differs in three places: a contraction suffix is a pre-token of its own and is tried first;
 * letters are one run whatever their case; punctuation takes CR and LF after it but not `/`. Its
 * regex (`… | \s+$ | \s*[\r\n] | \s+(?!\S) | \s`) also keeps a blank run reaching the end of the text
 * whole, line breaks included.
 */

export type Encoding = 'o200k_base' | 'cl100k_base';

const UPPER = 1;
const LOWER = 2;
const DIGIT = 3;
const LINE_BREAK = 4;
const SPACE = 5;
/** Tab, vertical tab, form feed: blank (`\s`), and a valid letter prefix, but not the punctuation prefix. */
const OTHER_BLANK = 6;
const PUNCT = 7;

/** Class of each ASCII code. JavaScript's `\s` on ASCII is exactly space, \t, \n, \v, \f, \r. */
const CLASS = (() => {
  const table = new Uint8Array(128).fill(PUNCT);
  for (let c = 65; c <= 90; c++) table[c] = UPPER;
  for (let c = 97; c <= 122; c++) table[c] = LOWER;
  for (let c = 48; c <= 57; c++) table[c] = DIGIT;
  table[10] = table[13] = LINE_BREAK;
  table[32] = SPACE;
  table[9] = table[11] = table[12] = OTHER_BLANK;
  return table;
})();

const isBlank = (k: number) => k === SPACE || k === OTHER_BLANK || k === LINE_BREAK;
const isLetter = (k: number) => k === UPPER || k === LOWER;
/** `[^\r\n\p{L}\p{N}]`: what may stand before a letter run in the same pre-token. */
const isLetterPrefix = (k: number) => k === SPACE || k === OTHER_BLANK || k === PUNCT;

/** Length of the contraction suffix (`'s`, `'T`, `'re`, `'LL` …) at `i`, or 0. */
function contractionAt(text: string, i: number, end: number): number {
  if (i + 1 >= end || text.charCodeAt(i) !== 39 /* ' */) return 0;
  const a = text.charCodeAt(i + 1) | 0x20; // ASCII lower case
  if (a === 115 /* s */ || a === 116 /* t */ || a === 109 /* m */ || a === 100 /* d */) return 2;
  if (i + 2 >= end) return 0;
  const b = text.charCodeAt(i + 2) | 0x20;
  if ((a === 114 /* r */ && b === 101) /* e */ || (a === 118 /* v */ && b === 101) || (a === 108 /* l */ && b === 108)) return 3;
  return 0;
}

/**
 * Calls `onPiece(start, end)` for each pre-token of `text[start, end)`, which must be ASCII and must
 * not cut a pre-token (see `safeCutBefore`). `textEnds` says whether `end` is the end of the whole
 * text: a blank run there is kept whole.
 */
export function scanAscii(encoding: Encoding, text: string, start: number, end: number, textEnds: boolean, onPiece: (start: number, end: number) => void): void {
  const o200k = encoding === 'o200k_base';
  let i = start;
  while (i < end) {
    const k = CLASS[text.charCodeAt(i)];
    const next = i + 1 < end ? CLASS[text.charCodeAt(i + 1)] : 0;

    // cl100k tries a contraction suffix before anything else.
    if (!o200k && k === PUNCT) {
      const suffix = contractionAt(text, i, end);
      if (suffix > 0) {
        onPiece(i, i + suffix);
        i += suffix;
        continue;
      }
    }

    // 1. Letters, with their optional one-character prefix.
    let j = -1;
    if (isLetter(k)) j = i;
    else if (isLetterPrefix(k) && isLetter(next)) j = i + 1;
    if (j >= 0) {
      if (o200k) {
        while (j < end && CLASS[text.charCodeAt(j)] === UPPER) j++;
        while (j < end && CLASS[text.charCodeAt(j)] === LOWER) j++;
        j += contractionAt(text, j, end);
      } else {
        while (j < end && isLetter(CLASS[text.charCodeAt(j)])) j++;
      }
      onPiece(i, j);
      i = j;
      continue;
    }

    // 2. Digits, three at most.
    if (k === DIGIT) {
      j = i + 1;
      if (j < end && CLASS[text.charCodeAt(j)] === DIGIT) j++;
      if (j < end && CLASS[text.charCodeAt(j)] === DIGIT) j++;
      onPiece(i, j);
      i = j;
      continue;
    }

    // 3. Punctuation, with an optional leading space and the line breaks (and, in o200k, slashes) after it.
    if (k === PUNCT || (k === SPACE && next === PUNCT)) {
      j = k === PUNCT ? i + 1 : i + 2;
      while (j < end && CLASS[text.charCodeAt(j)] === PUNCT) j++;
      for (; j < end; j++) {
        const c = text.charCodeAt(j);
        if (c !== 10 && c !== 13 && !(o200k && c === 47) /* / */) break;
      }
      onPiece(i, j);
      i = j;
      continue;
    }

    // 4 and 5. A blank run (k is blank here: every other class was taken above).
    let runEnd = i + 1;
    let lastBreak = k === LINE_BREAK ? i : -1;
    while (runEnd < end) {
      const r = CLASS[text.charCodeAt(runEnd)];
      if (!isBlank(r)) break;
      if (r === LINE_BREAK) lastBreak = runEnd;
      runEnd++;
    }
    const reachesEnd = textEnds && runEnd === end;
    if (reachesEnd && !o200k)
      j = runEnd; // cl100k: \s+$
    else if (lastBreak >= 0)
      j = lastBreak + 1; // \s*[\r\n]+ (o200k), \s*[\r\n] (cl100k: its \s* reaches the last break)
    else if (reachesEnd)
      j = runEnd; // \s+(?!\S) at the end of the text
    else if (runEnd - i > 1)
      j = runEnd - 1; // \s+(?!\S): the last blank goes with what follows
    else j = i + 1; // \s+ (or \s): one blank before a non-blank it cannot prefix
    onPiece(i, j);
    i = j;
  }
}

/**
 * True when no pre-token crosses the boundary just before `p`: the character before it is CR or LF
 * and the one at it is an ASCII character that is neither blank nor (o200k) `/`. A pre-token holds a
 * line break only at its end, followed at most by more line breaks and, in o200k, slashes.
 */
export function safeCutBefore(encoding: Encoding, text: string, p: number): boolean {
  if (p <= 0 || p >= text.length) return true;
  const before = text.charCodeAt(p - 1);
  if (before !== 10 && before !== 13) return false;
  const c = text.charCodeAt(p);
  if (c >= 128 || isBlank(CLASS[c])) return false;
  return !(encoding === 'o200k_base' && c === 47);
}

/**
 * Splits `text` into spans that no pre-token crosses: ASCII spans (`ascii: true`) for `scanAscii`,
 * and, around each non-ASCII character, the lines holding it, for the library's own regex. Calls
 * `onSpan` in order; an all-ASCII text is one span.
 */
export function forEachSpan(encoding: Encoding, text: string, onSpan: (start: number, end: number, ascii: boolean) => void): void {
  const n = text.length;
  let asciiStart = 0;
  for (;;) {
    // The regex engine's scan for a non-ASCII character is about three times faster than a charCodeAt loop.
    NON_ASCII.lastIndex = asciiStart;
    const found = NON_ASCII.exec(text);
    if (found === null) break;
    const i = found.index;
    let cutBefore = i;
    while (cutBefore > asciiStart && !safeCutBefore(encoding, text, cutBefore)) cutBefore--;
    let cutAfter = i + 1;
    while (cutAfter < n && !safeCutBefore(encoding, text, cutAfter)) cutAfter++;
    if (cutBefore > asciiStart) onSpan(asciiStart, cutBefore, true);
    onSpan(cutBefore, cutAfter, false);
    asciiStart = cutAfter;
  }
  if (asciiStart < n) onSpan(asciiStart, n, true);
}

// eslint-disable-next-line no-control-regex -- the ASCII range, NUL included, is what this matches
const NON_ASCII = /[^\x00-\x7f]/g;
