/**
 * Token counting, per model family.
 *
 * - OpenAI models: the real BPE tokenizer (gpt-tokenizer): o200k_base for the gpt-4o / gpt-4.1 /
 *   gpt-4.5 / gpt-5 / o-series / gpt-oss families, cl100k_base for gpt-4 and gpt-3.5.
 * - Claude and every other model: an estimate, because no current Claude tokenizer is public. The
 *   estimate is linear in character classes (ASCII letters, digits, punctuation, whitespace runs,
 *   non-ASCII code points), one pass over the text, no table to load. Its weights were fitted against
 *   the only public Claude tokenizer (`@anthropic-ai/tokenizer` 0.0.4, Anthropic's legacy BPE, itself
 *   only an approximation for Claude 3 and later) on 14 texts of about 30 KB: this project's fixtures
 *   (a JSON array, a log, a grep listing, tool schemas, prose) plus TypeScript, JavaScript, Markdown and
 *   Chinese/Japanese/German text. Worst error on those texts: 15%; worst when each text is left out of
 *   the fit and predicted: 30.6% (bench/claude-estimate.ts); error on their total: -2%. A flat chars/3.2 misses by up to 40%, and the
 *   o200k count times any single factor by up to 34.8% (o200k merges English far better than Claude's
 *   vocabulary). bench/COMPRESSOR.md has the table.
 *
 * Counting is the expensive part of a compress call: gpt-tokenizer's own `countTokens` takes about
 * 3 ms per 100 KB, more than the transforms. So BPE counts are made here from the library's parts:
 * the text is cut into pre-tokens by `pretokenize.ts` (a table-driven scanner equal to the encoding's
 * regex on ASCII text; lines holding other characters go through the library's regex), and each
 * pre-token is counted once through a memo, with the library's BPE core. The result is the library's
 * count, about 2.7 times faster (bench/COMPRESSOR.md). Both the scanner and the core are checked at
 * load on a text that exercises every rule; if either disagrees with the library's public
 * `countTokens` (a changed library), counting falls back to it. Encoders are loaded once, lazily,
 * and counts of long strings are kept in a bounded cache: the middleware sends the same history again
 * every turn. BPE counts are exact except inside pre-tokens (or runs of one character class) of more
 * than 256 characters, which are cut to keep the time linear.
 */
import { TextKeyedCache } from './cache';
import { Encoding, forEachSpan, scanAscii } from './pretokenize';

export interface TokenCounter {
  /** Tokenizer name, e.g. `o200k_base` or `claude-estimate`; part of every cache key. */
  readonly name: string;
  /** True when counts come from the model's real tokenizer, false for an estimate. */
  readonly exact: boolean;
  count(text: string): number;
}

export interface BpeModule {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
  /** The GptEncoding instance; its BPE core is used for single pre-tokens when it has the expected shape. */
  default?: { bytePairEncodingCoreProcessor?: Partial<BpeCore> };
}

/** The two methods of gpt-tokenizer's BytePairEncodingCore this module calls (not public API: checked at load). */
interface BpeCore {
  getBpeRankFromString(piece: string): number | undefined;
  bytePairEncode(piece: string): number[];
}

/** User text may contain `<|endoftext|>` and the like: count it as the text it is, don't throw. */
const NO_SPECIAL_TOKENS = { disallowedSpecial: new Set<string>() };

/** The longest pre-token (or run of one character class) counted in one piece (see countInPieces). */
export const MAX_BPE_RUN = 256;

/** Pre-tokens up to this length are memoised: longer ones are rare and would only fill the memo. */
const MEMO_MAX_PIECE = 32;
/** Entries per encoding before the memo starts over (at most a few MB; counts never depend on it). */
const MEMO_MAX_ENTRIES = 65_536;

/**
 * Text that exercises every rule of the pre-tokenizer; `loadBpe` checks on it that `scanAscii` and
 * the library still cut and count alike, and counts with the library alone if they do not.
 */
const SELF_CHECK_TEXT = 'HTTPServer said: "it\'s" DON\'T we\'ve 1234567 x\'LL {"a":[1,2]}\n\n//c\r\n  \t\tindent\v\fq  end.\n/* x */\n   ';

/**
 * An exact BPE counter: pre-tokens are cut by `scanAscii` (or, on lines holding non-ASCII characters,
 * by the library's regex), and each pre-token is counted once per process through a memo. Tool output
 * repeats a few hundred distinct pre-tokens thousands of times, so most pieces cost a table lookup or
 * a slice and a map lookup (bench/COMPRESSOR.md: about a third of the library's own `countTokens` time).
 */
export class BpeCounter implements TokenCounter {
  readonly exact = true;
  private readonly memo = new Map<string, number>();
  /** Counts of two- and three-character ASCII pieces by character codes (16 KB and 2 MB). */
  private readonly twoChars = new Uint8Array(1 << 14);
  private readonly threeChars = new Uint8Array(1 << 21);
  private readonly countPiece: (piece: string) => number;
  private readonly scan: boolean;

  constructor(
    readonly name: Encoding,
    private readonly module: BpeModule,
  ) {
    const core = module.default?.bytePairEncodingCoreProcessor;
    const viaLibrary = (piece: string) => module.countTokens(piece, NO_SPECIAL_TOKENS);
    // The core skips the library's per-call special-token set-up (about 1 µs a call, more than the
    // merge itself for a short piece). Its methods are not public, so they are used only if present.
    this.countPiece =
      typeof core?.getBpeRankFromString === 'function' && typeof core.bytePairEncode === 'function'
        ? (piece) => (core.getBpeRankFromString!(piece) !== undefined ? 1 : core.bytePairEncode!(piece).length)
        : viaLibrary;
    this.scan = true;
    if (this.countFast(SELF_CHECK_TEXT) !== viaLibrary(SELF_CHECK_TEXT)) {
      this.countPiece = viaLibrary;
      this.scan = this.countFast(SELF_CHECK_TEXT) === viaLibrary(SELF_CHECK_TEXT);
    }
    this.clearMemo();
  }

  count(text: string): number {
    if (text.length === 0) return 0;
    return this.scan ? this.countFast(text) : countInPieces(this.module, text);
  }

  private countFast(text: string): number {
    let total = 0;
    const onPiece = (start: number, end: number): void => {
      total += end - start === 1 ? 1 : this.countLongerPiece(text, start, end); // every single byte is a token
    };
    forEachSpan(this.name, text, (start, end, ascii) => {
      if (ascii) scanAscii(this.name, text, start, end, end === text.length, onPiece);
      else total += countInPieces(this.module, text.slice(start, end));
    });
    return total;
  }

  private countLongerPiece(text: string, start: number, end: number): number {
    const length = end - start;
    if (length <= 3) {
      // Two- and three-character pieces (about 40% of the pieces of JSON and logs) are looked up in
      // a flat table indexed by their character codes: no slice, no hashing. 0 = not counted yet.
      const a = text.charCodeAt(start);
      const b = text.charCodeAt(start + 1);
      const index = length === 2 ? (a << 7) | b : (a << 14) | (b << 7) | text.charCodeAt(start + 2);
      const table = length === 2 ? this.twoChars : this.threeChars;
      const known = table[index];
      if (known !== 0) return known;
      const count = this.countPiece(text.slice(start, end));
      table[index] = count;
      return count;
    }
    if (length > MEMO_MAX_PIECE) {
      // Rare, so not memoised. Past MAX_BPE_RUN characters (a run of one character class: BPE merging
      // is quadratic in it, see countInPieces) the piece is cut and counted in parts.
      let total = 0;
      for (let from = start; from < end; from += MAX_BPE_RUN) total += this.countPiece(text.slice(from, Math.min(end, from + MAX_BPE_RUN)));
      return total;
    }
    const piece = text.slice(start, end);
    let count = this.memo.get(piece);
    if (count === undefined) {
      count = this.countPiece(piece);
      if (this.memo.size >= MEMO_MAX_ENTRIES) this.memo.clear();
      this.memo.set(piece, count);
    }
    return count;
  }

  /** Empties the pre-token memo (the benchmark's cold calls). */
  clearMemo(): void {
    this.memo.clear();
    this.twoChars.fill(0);
    this.threeChars.fill(0);
  }
}

const bpeCounters = new Map<Encoding, BpeCounter>();

function loadBpe(encoding: Encoding): BpeCounter {
  let counter = bpeCounters.get(encoding);
  if (counter === undefined) {
    // Loaded on first use: each encoding is a few MB of ranks and ~250 ms to load, and a process
    // serving only Claude traffic never needs either.
    const module = // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, synchronous load on first use
      (encoding === 'o200k_base' ? require('gpt-tokenizer/encoding/o200k_base') : require('gpt-tokenizer/encoding/cl100k_base')) as BpeModule;
    counter = new BpeCounter(encoding, module);
    bpeCounters.set(encoding, counter);
  }
  return counter;
}

/** Class of each ASCII code: 0 blank, 1 letter, 2 digit, 3 other. Every non-ASCII character counts as a letter. */
const ASCII_CLASS = (() => {
  const table = new Uint8Array(128).fill(3);
  for (const c of [32, 10, 9, 13]) table[c] = 0;
  for (let c = 65; c <= 90; c++) table[c] = table[c + 32] = 1;
  for (let c = 48; c <= 57; c++) table[c] = 2;
  return table;
})();

/**
 * The library's own count, for spans holding non-ASCII characters. BPE merging is quadratic in the
 * length of one pre-token, and a pre-token is at most one run of a character class (plus a character
 * at either end): a 2 MB line of one letter would take hours, a 16 KB run of `[` takes 100 ms. Runs
 * longer than MAX_BPE_RUN are therefore cut, and the pieces counted one by one. Ordinary text has no
 * such run and is counted whole, exactly; where a cut is made the count may be off by about one token
 * per cut, and the time stays linear whatever the input. (Digit runs are split every three digits by
 * the tokenizer itself and are never cut.)
 */
function countInPieces(module: BpeModule, text: string): number {
  if (text.length <= MAX_BPE_RUN) return module.countTokens(text, NO_SPECIAL_TOKENS);
  let pieceStart = 0;
  let runStart = 0;
  let runClass = -1;
  let total = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const k = c < 128 ? ASCII_CLASS[c] : 1;
    if (k !== runClass) {
      runClass = k;
      runStart = i;
    } else if (k !== 2 && i - runStart >= MAX_BPE_RUN) {
      total += module.countTokens(text.slice(pieceStart, i), NO_SPECIAL_TOKENS);
      pieceStart = i;
      runStart = i;
    }
  }
  if (pieceStart === 0) return module.countTokens(text, NO_SPECIAL_TOKENS);
  return total + module.countTokens(text.slice(pieceStart), NO_SPECIAL_TOKENS);
}

/** Weights of the Claude estimate (see the header comment for how they were fitted). */
export const CLAUDE_ESTIMATE_WEIGHTS = { letter: 0.24, digit: 0.8, punctuation: 0.45, whitespaceRun: 0.4, nonAscii: 1 } as const;

/** The estimate's five features: letters, digits, punctuation, whitespace runs, non-ASCII code points. */
export function claudeTextFeatures(text: string): [letters: number, digits: number, punctuation: number, whitespaceRuns: number, nonAscii: number] {
  let letters = 0;
  let digits = 0;
  let punctuation = 0;
  let whitespaceRuns = 0;
  let nonAscii = 0;
  let inWhitespace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) {
      if (!inWhitespace) whitespaceRuns++;
      inWhitespace = true;
      continue;
    }
    inWhitespace = false;
    if (c > 127) {
      if (c < 0xdc00 || c > 0xdfff) nonAscii++; // a surrogate pair is one code point
    } else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) letters++;
    else if (c >= 48 && c <= 57) digits++;
    else punctuation++;
  }
  return [letters, digits, punctuation, whitespaceRuns, nonAscii];
}

export function estimateClaudeTokens(text: string): number {
  const [letters, digits, punctuation, whitespaceRuns, nonAscii] = claudeTextFeatures(text);
  const w = CLAUDE_ESTIMATE_WEIGHTS;
  return Math.round(letters * w.letter + digits * w.digit + punctuation * w.punctuation + whitespaceRuns * w.whitespaceRun + nonAscii * w.nonAscii);
}

const claudeEstimate: TokenCounter = { name: 'claude-estimate', exact: false, count: estimateClaudeTokens };

const O200K_MODEL = /^(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o\d|codex|gpt-realtime|gpt-audio|computer-use)/;
const CL100K_MODEL = /^(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)/;

/** The model name without a routing prefix (`openai/gpt-4o`, `azure/gpt-4.1`, `bedrock/anthropic.claude-…`). */
export function baseModelName(model: string): string {
  const lower = model.trim().toLowerCase();
  return lower.slice(lower.lastIndexOf('/') + 1);
}

export function tokenCounterFor(model: string): TokenCounter {
  const name = baseModelName(model);
  if (O200K_MODEL.test(name)) return lazyBpeCounter('o200k_base');
  if (CL100K_MODEL.test(name)) return lazyBpeCounter('cl100k_base');
  return claudeEstimate;
}

/** Loads the BPE tables ahead of the first request (the CLI does this at start). */
export function warmUpTokenizers(): void {
  loadBpe('o200k_base');
  loadBpe('cl100k_base');
}

/** A counter that loads its encoding on its first count, not when a model name is matched. */
function lazyBpeCounter(encoding: Encoding): TokenCounter {
  return bpeCounters.get(encoding) ?? { name: encoding, exact: true, count: (text) => loadBpe(encoding).count(text) };
}

/** Strings shorter than this are counted every time: caching them would cost as much as counting. */
const CACHE_MIN_CHARS = 256;

/** Counts of long strings, up to 16 M characters of text held (about 32 MB). */
const countCache = new TextKeyedCache<number>(16 * 1024 * 1024);

/** Counts, through the cache for long strings when the count comes from a BPE pass. */
export function countTokensCached(counter: TokenCounter, text: string): number {
  if (text.length < CACHE_MIN_CHARS || !counter.exact) return counter.count(text);
  const cached = countCache.get(counter.name, text);
  if (cached !== undefined) return cached;
  const count = counter.count(text);
  countCache.set(counter.name, text, count);
  return count;
}

/** Empties the count cache (benchmarks measure cold calls with it). */
export function clearTokenCountCache(): void {
  countCache.clear();
  for (const counter of bpeCounters.values()) counter.clearMemo();
}
