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
 *   the fit and predicted: 33%; error on their total: -2%. A flat chars/3.2 misses by up to 40%, and the
 *   o200k count times any single factor by up to 45% (o200k merges English far better than Claude's
 *   vocabulary). bench/COMPRESSOR.md has the table.
 *
 * Counting is the expensive part of a compress call (a BPE pass is ~3 ms per 100 KB), so the
 * encoders are loaded once, lazily, and counts of long strings are kept in a bounded cache: the
 * middleware sends the same history again every turn. BPE counts are exact except inside runs of
 * more than 256 characters of one class, which are cut to keep the time linear (countInPieces).
 */
import { TextKeyedCache } from './cache';

export interface TokenCounter {
  /** Tokenizer name, e.g. `o200k_base` or `claude-estimate`; part of every cache key. */
  readonly name: string;
  /** True when counts come from the model's real tokenizer, false for an estimate. */
  readonly exact: boolean;
  count(text: string): number;
}

interface BpeModule {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

/** User text may contain `<|endoftext|>` and the like: count it as the text it is, don't throw. */
const NO_SPECIAL_TOKENS = { disallowedSpecial: new Set<string>() };

const bpeModules = new Map<string, BpeModule>();

function loadBpe(encoding: 'o200k_base' | 'cl100k_base'): BpeModule {
  let module = bpeModules.get(encoding);
  if (module === undefined) {
    // Loaded on first use: each encoding is a few MB of ranks and ~250 ms to load, and a process
    // serving only Claude traffic never needs either.
    module = (
      encoding === 'o200k_base' ? require('gpt-tokenizer/encoding/o200k_base') : require('gpt-tokenizer/encoding/cl100k_base')
    ) as BpeModule;
    bpeModules.set(encoding, module);
  }
  return module;
}

/** The longest run of one character class counted in one piece (see countInPieces). */
export const MAX_BPE_RUN = 256;

/** Class of each ASCII code: 0 blank, 1 letter, 2 digit, 3 other. Every non-ASCII character counts as a letter. */
const ASCII_CLASS = (() => {
  const table = new Uint8Array(128).fill(3);
  for (const c of [32, 10, 9, 13]) table[c] = 0;
  for (let c = 65; c <= 90; c++) table[c] = table[c + 32] = 1;
  for (let c = 48; c <= 57; c++) table[c] = 2;
  return table;
})();

/**
 * BPE merging is quadratic in the length of one pre-token, and a pre-token is at most one run of a
 * character class (plus a character at either end): a 2 MB line of one letter would take hours, a
 * 16 KB run of `[` takes 100 ms. Runs longer than MAX_BPE_RUN are therefore cut, and the pieces counted
 * one by one. Ordinary text has no such run and is counted whole, exactly; where a cut is made the
 * count may be off by about one token per cut, and the time stays linear whatever the input.
 * (Digit runs are split every three digits by the tokenizer itself and are never cut.)
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

function bpeCounter(encoding: 'o200k_base' | 'cl100k_base'): TokenCounter {
  return {
    name: encoding,
    exact: true,
    count: (text) => (text.length === 0 ? 0 : countInPieces(loadBpe(encoding), text)),
  };
}

/** Weights of the Claude estimate (see the header comment for how they were fitted). */
export const CLAUDE_ESTIMATE_WEIGHTS = { letter: 0.24, digit: 0.8, punctuation: 0.45, whitespaceRun: 0.4, nonAscii: 1 } as const;

export function estimateClaudeTokens(text: string): number {
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
  const w = CLAUDE_ESTIMATE_WEIGHTS;
  return Math.round(
    letters * w.letter + digits * w.digit + punctuation * w.punctuation + whitespaceRuns * w.whitespaceRun + nonAscii * w.nonAscii,
  );
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
  if (O200K_MODEL.test(name)) return bpeCounter('o200k_base');
  if (CL100K_MODEL.test(name)) return bpeCounter('cl100k_base');
  return claudeEstimate;
}

/** Loads the BPE tables ahead of the first request (the CLI does this at start). */
export function warmUpTokenizers(): void {
  loadBpe('o200k_base').countTokens('warm up', NO_SPECIAL_TOKENS);
  loadBpe('cl100k_base').countTokens('warm up', NO_SPECIAL_TOKENS);
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
}
