import type { ServiceErrorCode } from './errors';

export type HeadroomStatus = 'compressed' | 'skipped' | 'bypassed' | 'not_enabled' | 'failed';

/**
 * What the middleware decided and did for one request: `res.locals.headroom`, and the argument of
 * `onResult`. The counterpart of LiteLLM's guardrail_information. Never holds message content.
 */
export interface HeadroomResult {
  status: HeadroomStatus;
  /** The guardrail name, as written to `x-litellm-applied-guardrails`. */
  guardrail: string;
  /** Why it was skipped: `below_min_tokens`, `nothing_new`, `not_eligible`. */
  reason?: string;
  /** Token counts the service reported for what it was sent this time (absent when it was not called). */
  tokensBefore?: number;
  tokensAfter?: number;
  tokensSaved?: number;
  compressionRatio?: number;
  transformsApplied: string[];
  /** Retrieval hashes (12–24 lowercase hex): those the service reported in `ccr_hashes`, and those it wrote into the text taken (`hash=…`, `<<ccr:…>>`). */
  ccrHashes: string[];
  /** Estimated tokens of the new compressible text (what `minTokens` is compared to). */
  estimatedTokens: number;
  /** Text parts sent to the service / written back compressed / refused because the reply would have changed more than text. */
  partsSent: number;
  partsCompressed: number;
  partsRejected: number;
  /** Parts filled from the memo (history rows and repeats) without calling the service. */
  memoHits: number;
  /**
   * Characters of compressible text in the request as sent, and as forwarded: counts every
   * rewritten part, memo hits included, so a turn served from the memo still shows what it saved
   * (the service's token counts cover only what it was sent this time).
   */
  charsBefore: number;
  charsAfter: number;
  /** Compress call timing (0 when the service was not called). */
  startedAt?: number;
  endedAt?: number;
  durationMs: number;
  /** `audit`: everything above was computed and recorded, and the original bytes were forwarded. Default `compress`. */
  mode: 'compress' | 'audit';
  /** Circuit breaker state when the request was decided. */
  breaker: 'closed' | 'open' | 'half_open' | 'off';
  error?: { code: ServiceErrorCode; message: string };
}

/**
 * The one place a record is made: every request the middleware decides on gets exactly one, built
 * here and finished by the step that decided (the compress step fills its counts and timing).
 */
export function newResult(status: HeadroomStatus, guardrail: string, breaker: HeadroomResult['breaker'], reason?: string): HeadroomResult {
  const result: HeadroomResult = {
    status,
    guardrail,
    transformsApplied: [],
    ccrHashes: [],
    estimatedTokens: 0,
    partsSent: 0,
    partsCompressed: 0,
    partsRejected: 0,
    memoHits: 0,
    charsBefore: 0,
    charsAfter: 0,
    durationMs: 0,
    mode: 'compress',
    breaker,
  };
  if (reason !== undefined) result.reason = reason;
  return result;
}
