/**
 * One text in, the best transform for its kind out: detect the kind, run that transform, keep the
 * result only if it has fewer tokens, else fall back to the whitespace transform, else leave the text
 * alone. Texts under {@link MIN_TOKENS} are never touched (returned byte-identical).
 */
import { TextKeyedCache } from './cache';
import { ContentKind, detectKind } from './detect';
import { compressJson } from './json';
import { compressListing } from './listing';
import { compressLog } from './log';
import { cleanText, finishWhitespace } from './text';
import { TokenCounter, countTokensCached } from './tokens';

export type TransformName = 'json_rows' | 'json_minify' | 'log_collapse' | 'grep_group' | 'whitespace';

/** Below this many tokens a text is left as it is: the saving would not pay for the change. */
export const MIN_TOKENS = 200;

export interface TextCompressOptions {
  counter: TokenCounter;
  targetRatio?: number;
}

export interface TextTransformResult {
  text: string;
  transform: TransformName;
  kind: ContentKind;
  tokensAfter: number;
}

export interface TextCompressOutcome {
  tokensBefore: number;
  /** null: the text is returned as it was. */
  result: TextTransformResult | null;
}

/** Compressed forms of texts seen before, up to 16 M characters of input held. */
const resultCache = new TextKeyedCache<TextTransformResult | null>(16 * 1024 * 1024);

export function clearTransformCache(): void {
  resultCache.clear();
}

function specializedTransform(cleaned: string, kind: ContentKind, targetRatio: number | undefined): { text: string; transform: TransformName } | null {
  switch (kind) {
    case 'json': {
      const json = compressJson(cleaned, { targetRatio });
      return json === null ? null : { text: json.text, transform: json.arraysSummarised > 0 ? 'json_rows' : 'json_minify' };
    }
    case 'listing': {
      const listing = compressListing(cleaned);
      if (listing !== null) return { text: listing.text, transform: 'grep_group' };
      // Shaped like a listing but not one (e.g. `host:8080-…` lines): a log, perhaps.
      const log = compressLog(cleaned);
      return log === null ? null : { text: log.text, transform: 'log_collapse' };
    }
    case 'log': {
      const log = compressLog(cleaned);
      return log === null ? null : { text: log.text, transform: 'log_collapse' };
    }
    default:
      return null; // code and prose: whitespace only, never rewritten
  }
}

function transformUncached(text: string, tokensBefore: number, options: TextCompressOptions): TextTransformResult | null {
  const cleaned = cleanText(text);
  const kind = detectKind(cleaned);
  const specialized = specializedTransform(cleaned, kind, options.targetRatio);
  if (specialized !== null && specialized.text !== text) {
    const tokensAfter = countTokensCached(options.counter, specialized.text);
    if (tokensAfter < tokensBefore) return { ...specialized, kind, tokensAfter };
  }
  const whitespace = finishWhitespace(cleaned);
  if (whitespace === text) return null;
  const tokensAfter = countTokensCached(options.counter, whitespace);
  return tokensAfter <= tokensBefore ? { text: whitespace, transform: 'whitespace', kind, tokensAfter } : null;
}

export function compressText(text: string, options: TextCompressOptions): TextCompressOutcome {
  const tokensBefore = countTokensCached(options.counter, text);
  if (tokensBefore < MIN_TOKENS) return { tokensBefore, result: null };
  const namespace = `${options.counter.name}|${options.targetRatio ?? ''}`;
  let result = resultCache.get(namespace, text);
  if (result === undefined) {
    result = transformUncached(text, tokensBefore, options);
    resultCache.set(namespace, text, result);
  }
  return { tokensBefore, result };
}
