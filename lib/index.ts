/**
 * express-headroom: compress LLM tool output through Headroom before your proxy forwards it.
 *
 *   app.use('/v1', headroomCompression(apiBase)); // before http-proxy-middleware
 *
 * This is the whole public surface of the main entry (its report: api/express-headroom.api.md). The
 * embedded compressor is on its own entry, `express-headroom/compressor`, so importing the
 * middleware loads no compressor and no tokenizer.
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
export default headroomCompression;

export type { HeadroomMiddleware } from './middleware';
export type { HeadroomOptions, HeadroomMode } from './options';
export type { HeadroomResult, HeadroomStatus } from './result';
export type { Logger } from './logger';
export { HeadroomConfigError, HeadroomRequestError, type RequestErrorCode, type ServiceErrorCode } from './errors';
export { RedisMemoStore, type MemoStore, type RedisLikeClient } from './memo';
/** Reversible compression: where originals behind `hash=` markers are kept, and the router that serves them (REST and MCP). */
export { headroomRetrieval, type HeadroomRetrieval } from './retrieval-router';
export type { HeadroomRetrievalOptions, RetrievalAccess, RetrievalAuthorize } from './retrieval-options';
export {
  LruRetrievalStore,
  RedisRetrievalStore,
  type LruRetrievalStoreOptions,
  type RedisRetrievalStoreOptions,
  type RedisRetrievalClient,
  type RedisRetrievalMulti,
} from './retrieval-store';
export { contentHash, ANY_OWNER, type RetrievalStore, type RetrievalRecord, type StoredRetrieval } from './ccr';
/** The `/v1/compress` contract, for writing a `compressor` of your own. */
export type { CompressRequest, CompressResponse, CompressFunction, ContractMessage, CompressConfig } from './contract';
/** For gateways around the middleware: the provider's error shape, the response header, LiteLLM's control fields. */
export { providerErrorBody, type Provider } from './errors';
export { APPLIED_HEADER } from './headers';
export { BYPASS_HEADER, stripOptInFields } from './decision';
