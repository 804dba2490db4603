/**
 * express-headroom: compress LLM tool output through Headroom before your proxy forwards it.
 *
 *   app.use('/v1', headroomCompression(apiBase)); // before http-proxy-middleware
 */
import { createMiddleware, type HeadroomMiddleware } from './middleware';
import { resolveOptions, type HeadroomOptions } from './options';

/**
 * Creates the middleware. Throws {@link HeadroomConfigError} at once when the options cannot work.
 * @param options the Headroom base URL, or {@link HeadroomOptions}.
 */
export function headroomCompression(options?: string | HeadroomOptions): HeadroomMiddleware {
  return createMiddleware(resolveOptions(options));
}

export type { HeadroomMiddleware } from './middleware';
export type { HeadroomOptions, HeadroomConfig } from './options';
export { resolveOptions, parseLimit } from './options';
export type { HeadroomResult, HeadroomStatus } from './result';
export {
  HeadroomConfigError,
  HeadroomRequestError,
  HeadroomServiceError,
  providerErrorBody,
  providerForPath,
  type RequestErrorCode,
  type ServiceErrorCode,
  type Provider,
} from './errors';
export { LruMemoStore, RedisMemoStore, memoKey, type MemoStore, type RedisLikeClient } from './memo';
export { findSlots, estimateTokens, type TextSlot } from './codec';
export { APPLIED_HEADER, mergeGuardrailNames } from './headers';
export { BYPASS_HEADER, stripOptInFields, bodyOptsIn } from './decision';
export type { Logger } from './logger';
export type { CompressRequest, CompressResponse, CompressFunction, ContractMessage, CompressConfig } from './contract';
export {
  compress,
  createCompressorServer,
  CompressorError,
  validateCompressRequest,
  checkRetention,
  type CompressOptions,
  type CompressorServerOptions,
  type RetentionReport,
} from './compressor';
export default headroomCompression;
