/**
 * Scoring one case: is each answer item in the compressed text, or in what its marker retrieves
 * (the whole original, and the original filtered by the case's `query`)? And what did it cost in tokens?
 */
import type { CompressRequest } from '../../lib/contract';
import { compress } from '../../lib/compressor/compress';
import { TokenCounter } from '../../lib/compressor/tokens';
import { filterOriginal } from '../../lib/retrieval-query';
import { OriginalStore } from './retrieval';
import { AnswerCase } from './types';

export interface CaseScore {
  case: AnswerCase;
  tokensBefore: number;
  tokensAfter: number;
  /** Items missing from the compressed text. */
  missing: string[];
  /** Items missing from the compressed text and from the retrieved original. */
  missingWithRetrieval: string[];
  /** Items missing from the compressed text and from the original filtered by `query`. */
  missingWithQuery: string[];
  /** Retrieval hashes in the compressed text; how many of them name something other than this output. */
  markers: number;
  foreignMarkers: number;
  /**
   * Answer items the query alone would not bring back (of all items, present or not), when a marker
   * reached the original; null otherwise. Tests the query path even where nothing was missing.
   */
  queryAloneMissing: number | null;
  /** Rows/lines `filterOriginal` returned for the query (null: no marker reached the original). */
  queryMatched: number | null;
  /** `compress()` threw: scored as the original passed through. */
  error: string | null;
}

/** The request a middleware sends for one tool output: the question, the call that produced it, the output. */
export function compressRequest(c: AnswerCase): CompressRequest {
  return {
    model: 'gpt-4o',
    config: { protect_recent: 0 },
    messages: [
      { role: 'user', content: c.question },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: c.toolName, arguments: JSON.stringify(c.toolArgs) } }] },
      { role: 'tool', tool_call_id: 'call_1', content: c.output },
    ],
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Blanks don't change what a line says: compare lines with runs of spaces and tabs as one space. */
const squeeze = (s: string) => s.replace(/[ \t]+/g, ' ').trim();

/** A text prepared for many item look-ups. */
export class Haystack {
  private squeezed: string | undefined;

  constructor(private readonly text: string) {}

  /**
   * An id is present as a whole token (`T-501` is not found inside `T-5012`); a line verbatim, or
   * with its blanks squeezed (aligned columns re-padded are the same row).
   */
  has(item: string, itemKind: 'id' | 'line'): boolean {
    if (itemKind === 'id') return new RegExp(`(?<![A-Za-z0-9_-])${escapeRegExp(item)}(?![A-Za-z0-9_-])`).test(this.text);
    if (this.text.includes(item)) return true;
    this.squeezed ??= this.text.split('\n').map(squeeze).join('\n');
    return this.squeezed.includes(squeeze(item));
  }
}

/**
 * The compressed tool row, or the output unchanged with the error when `compress()` throws: the
 * middleware forwards the original then, so that is what the model would read.
 */
export function compressedToolText(c: AnswerCase): { text: string; error: string | null } {
  try {
    const content = compress(compressRequest(c)).messages[2].content;
    return { text: typeof content === 'string' ? content : JSON.stringify(content), error: null };
  } catch (e) {
    const err = e as Error;
    return { text: c.output, error: `${err.name}: ${err.message}` };
  }
}

export function scoreCase(c: AnswerCase, store: OriginalStore, counter: TokenCounter): CaseScore {
  const { text: compressed, error } = compressedToolText(c);
  const inCompressed = new Haystack(compressed);
  const missing = c.answerItems.filter((item) => !inCompressed.has(item, c.itemKind));
  const { original, markers, foreign } = store.retrieve(compressed, c.output);
  const inOriginal = original === null ? null : new Haystack(original);
  const missingWithRetrieval = missing.filter((item) => inOriginal === null || !inOriginal.has(item, c.itemKind));
  let missingWithQuery = missing;
  let queryMatched: number | null = null;
  let queryAloneMissing: number | null = null;
  if (original !== null) {
    const filtered = filterOriginal(original, c.query);
    queryMatched = filtered.matched;
    const inFiltered = new Haystack(filtered.content);
    missingWithQuery = missing.filter((item) => !inFiltered.has(item, c.itemKind));
    queryAloneMissing = c.answerItems.filter((item) => !inFiltered.has(item, c.itemKind)).length;
  }
  return {
    case: c,
    tokensBefore: counter.count(c.output),
    tokensAfter: counter.count(compressed),
    missing,
    missingWithRetrieval,
    missingWithQuery,
    markers,
    foreignMarkers: foreign,
    queryAloneMissing,
    queryMatched,
    error,
  };
}
