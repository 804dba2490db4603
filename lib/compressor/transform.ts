/**
 * One text in, the best transform for its kind out: detect the kind, run that transform, keep the
 * result only if it has fewer tokens, else fall back to the whitespace transform, else leave the text
 * alone. Texts under {@link MIN_TOKENS} are never touched (returned byte-identical).
 *
 * The context of the text (context.ts) reaches the transforms as salient terms (terms.ts): rows and
 * lines carrying them are kept. A transform that leaves something out writes one retrieval marker
 * with the content hash of the text as it was sent (before any clean-up), so that the middleware can
 * match it to the original it keeps.
 */
import { createHash } from 'node:crypto';
import { contentHash } from '../ccr';
import { TextKeyedCache } from './cache';
import type { ToolOutputContext } from './context';
import { ContentKind, detectKind } from './detect';
import { splitFraming } from './framing';
import { compressJson } from './json';
import { compressListing } from './listing';
import { compressLog } from './log';
import { compressTable } from './table';
import { TermMatcher } from './term-match';
import { Term, extractTerms } from './terms';
import { cleanText, finishWhitespace } from './text';
import { TokenCounter, countTokensCached } from './tokens';

export type TransformName = 'json_rows' | 'json_minify' | 'table_rows' | 'log_collapse' | 'grep_group' | 'whitespace';

/** Below this many tokens a text is left as it is: the saving would not pay for the change. */
export const MIN_TOKENS = 200;

export interface TextCompressOptions {
  counter: TokenCounter;
  targetRatio?: number;
  /** The request and tool call the text answers; without it, no row is kept for a term. */
  context?: ToolOutputContext;
}

export interface TextTransformResult {
  text: string;
  transform: TransformName;
  kind: ContentKind;
  tokensAfter: number;
  /** The hash of the retrieval marker written into `text`, when the transform left something out. */
  ccrHash?: string;
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
  termsMemo.clear();
}

interface Specialized {
  text: string;
  transform: TransformName;
  /** A retrieval marker was written. */
  marked: boolean;
}

interface TransformInputs {
  targetRatio: number | undefined;
  matcher: TermMatcher | undefined;
  /** Undefined for the kinds whose transform never omits anything (no hash computed). */
  retrievalHash: string | undefined;
}

function specializedTransform(cleaned: string, kind: ContentKind, inputs: TransformInputs): Specialized | null {
  const logOptions = { matcher: inputs.matcher, retrievalHash: inputs.retrievalHash };
  switch (kind) {
    case 'json': {
      const json = compressJson(cleaned, inputs);
      return json === null ? null : { text: json.text, transform: json.arraysSummarised > 0 ? 'json_rows' : 'json_minify', marked: json.marked };
    }
    case 'table': {
      const table = compressTable(cleaned, inputs);
      return table === null ? null : { text: table.text, transform: 'table_rows', marked: table.marked };
    }
    case 'listing': {
      const listing = compressListing(cleaned, { matcher: inputs.matcher });
      if (listing !== null) return { text: listing.text, transform: 'grep_group', marked: false };
      // Shaped like a listing but not one (e.g. `host:8080-…` lines): a log, perhaps.
      const log = compressLog(cleaned, logOptions);
      return log === null ? null : { text: log.text, transform: 'log_collapse', marked: log.marked };
    }
    case 'log': {
      const log = compressLog(cleaned, logOptions);
      return log === null ? null : { text: log.text, transform: 'log_collapse', marked: log.marked };
    }
    default:
      return null; // code and prose: whitespace only, never rewritten
  }
}

function transformUncached(text: string, tokensBefore: number, options: TextCompressOptions, terms: readonly Term[]): TextTransformResult | null {
  const cleaned = cleanText(text);
  // A tool's header (Codex's `Chunk ID: …\nOutput:`) stays as it is; the kind is the kind of what follows.
  const { head, body } = splitFraming(cleaned);
  const kind = detectKind(body);
  // Code and prose are only cleaned up: they never carry a marker, so their hash is not computed.
  const retrievalHash = kind === 'code' || kind === 'text' ? undefined : contentHash(text);
  const matcher = terms.length > 0 ? new TermMatcher(terms) : undefined;
  const specialized = specializedTransform(body, kind, { targetRatio: options.targetRatio, matcher, retrievalHash });
  if (specialized !== null && head + specialized.text !== text) {
    const compressed = head + specialized.text;
    const tokensAfter = countTokensCached(options.counter, compressed);
    if (tokensAfter < tokensBefore) {
      const result: TextTransformResult = { text: compressed, transform: specialized.transform, kind, tokensAfter };
      if (specialized.marked) result.ccrHash = retrievalHash;
      return result;
    }
  }
  const whitespace = finishWhitespace(cleaned);
  if (whitespace === text) return null;
  const tokensAfter = countTokensCached(options.counter, whitespace);
  return tokensAfter <= tokensBefore ? { text: whitespace, transform: 'whitespace', kind, tokensAfter } : null;
}

/**
 * The terms as part of the cache key: the output depends on the text and the terms only, so two
 * contexts with the same terms may share a result and two with different terms never do. Hashed,
 * so the key stays short whatever the terms.
 */
function termsKey(terms: readonly Term[]): string {
  if (terms.length === 0) return '';
  const hash = createHash('sha256');
  for (const term of terms) hash.update(`${term.kind}\u0000${term.field ?? ''}\u0000${term.text}\u0000${term.source}\u0001`);
  return hash.digest('base64');
}

/** Contexts seen recently, with their terms and key: a session sends the same context every turn. */
const termsMemo = new Map<string, { terms: Term[]; key: string }>();
const MAX_MEMO_ENTRIES = 512;
/** Longer contexts are extracted every time rather than held. */
const MAX_MEMO_KEY = 8192;

function termsOf(context: ToolOutputContext | undefined): { terms: Term[]; key: string } {
  if (context === undefined) return { terms: [], key: '' };
  const memoKey = `${context.toolArguments ?? ''}\u0000${context.question ?? ''}`;
  const known = memoKey.length <= MAX_MEMO_KEY ? termsMemo.get(memoKey) : undefined;
  if (known !== undefined) return known;
  const terms = extractTerms(context);
  const entry = { terms, key: termsKey(terms) };
  if (memoKey.length <= MAX_MEMO_KEY) {
    if (termsMemo.size >= MAX_MEMO_ENTRIES) termsMemo.clear();
    termsMemo.set(memoKey, entry);
  }
  return entry;
}

export function compressText(text: string, options: TextCompressOptions): TextCompressOutcome {
  const tokensBefore = countTokensCached(options.counter, text);
  if (tokensBefore < MIN_TOKENS) return { tokensBefore, result: null };
  const { terms, key } = termsOf(options.context);
  const namespace = `${options.counter.name}|${options.targetRatio ?? ''}|${key}`;
  let result = resultCache.get(namespace, text);
  if (result === undefined) {
    result = transformUncached(text, tokensBefore, options, terms);
    resultCache.set(namespace, text, result);
  }
  return { tokensBefore, result };
}
