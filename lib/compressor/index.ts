/**
 * The embedded compressor: a TypeScript implementation of Headroom's `/v1/compress`, usable in
 * process (`compress`) or as a loopback service (`createCompressorServer`, the
 * `express-headroom-compressor` bin).
 */
export { compress } from './compress';
export type { CompressOptions } from './compress';
export { CompressorError } from './errors';
export type { CompressorErrorType } from './errors';
export { validateCompressRequest } from './validate';
export { createCompressorServer } from './server';
export type { CompressorServerOptions } from './server';
export { compressText, clearTransformCache, MIN_TOKENS } from './transform';
export type { TransformName, TextCompressOutcome, TextTransformResult } from './transform';
export { detectKind } from './detect';
export type { ContentKind } from './detect';
export { tokenCounterFor, estimateClaudeTokens, warmUpTokenizers, clearTokenCountCache } from './tokens';
export type { TokenCounter } from './tokens';
export { checkRetention, checkJsonRetention, checkLogRetention, checkListingRetention } from './retention';
export type { RetentionReport, RetentionCheck } from './retention';
