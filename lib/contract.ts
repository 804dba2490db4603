/**
 * The Headroom `/v1/compress` contract (headroom-ai 0.28) as published types, free of zod. The one
 * definition is the zod schemas in `contract-schema.ts`, which fail to compile if these types drift
 * from what they accept.
 */

/** A chat message as sent to `/v1/compress`: OpenAI shape, the service's lingua franca. Unknown fields pass. */
export interface ContractMessage {
  [field: string]: unknown;
  role: string;
  content?: unknown;
}

export interface CompressConfig {
  [field: string]: unknown;
  /** Compress user rows too (default false). */
  compress_user_messages?: boolean | null;
  /** Wanted after/before ratio, best effort. */
  target_ratio?: number | null;
  /** The newest N rows are left alone. A caller that sends only what it wants compressed sends 0. */
  protect_recent?: number | null;
  protect_analysis_context?: boolean | null;
}

export interface CompressRequest {
  [field: string]: unknown;
  messages: ContractMessage[];
  model: string;
  token_budget?: number | null;
  config?: CompressConfig | null;
}

/** The contract's response: what the service (and any in-process compressor) answers. */
export interface CompressResponse {
  [field: string]: unknown;
  /** The compressed messages, same count and order as sent. */
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

/** What the middleware accepts from a service: rows checked one by one, figures older versions omit optional. */
export interface ServiceReply {
  [field: string]: unknown;
  messages: unknown[];
  tokens_before?: number;
  tokens_after?: number;
  tokens_saved?: number;
  compression_ratio?: number;
  transforms_applied?: string[];
  transforms_summary?: Record<string, number>;
  ccr_hashes?: string[];
}

/**
 * An in-process compressor: takes a `/v1/compress` request body, returns the contract's response.
 * Throwing a `CompressorError` maps to the service's own error statuses (400, 503).
 */
export type CompressFunction = (request: CompressRequest, options?: { signal?: AbortSignal }) => CompressResponse | Promise<CompressResponse>;
