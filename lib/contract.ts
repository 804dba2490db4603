/**
 * The Headroom `/v1/compress` contract (headroom-ai 0.28), as types. Shared by the service client
 * (which calls a remote service) and the embedded compressor (which implements the service).
 */

/** A chat message as sent to `/v1/compress`: OpenAI shape, the service's lingua franca. */
export interface ContractMessage {
  role: string;
  content?: unknown;
  [field: string]: unknown;
}

export interface CompressConfig {
  /** Compress user rows too (default false). */
  compress_user_messages?: boolean;
  /** Wanted after/before ratio, best effort. */
  target_ratio?: number;
  /** The newest N rows are left alone. A caller that sends only what it wants compressed sends 0. */
  protect_recent?: number;
  protect_analysis_context?: boolean;
}

export interface CompressRequest {
  messages: ContractMessage[];
  model: string;
  token_budget?: number;
  config?: CompressConfig;
}

export interface CompressResponse {
  messages: ContractMessage[];
  tokens_before: number;
  tokens_after: number;
  tokens_saved: number;
  /** after / before; 1.0 when before is 0. Lower is more compression. */
  compression_ratio: number;
  transforms_applied: string[];
  transforms_summary?: Record<string, number>;
  ccr_hashes?: string[];
}

/**
 * An in-process compressor: takes a `/v1/compress` request body, returns the contract's response.
 * Throwing a {@link CompressorError} maps to the service's own error statuses (400, 503).
 */
export type CompressFunction = (
  request: CompressRequest,
  options?: { signal?: AbortSignal },
) => CompressResponse | Promise<CompressResponse>;
