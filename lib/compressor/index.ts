/**
 * `express-headroom/compressor`: the embedded compressor, a TypeScript implementation of Headroom's
 * `/v1/compress`, usable in process (`headroomCompression({ compressor: compress })`) or as a loopback
 * service (`createCompressorServer`, the `express-headroom-compressor` bin). Its own entry so that
 * users of a Headroom service never load it or its tokenizer.
 */
export { compress } from './compress';
export type { CompressOptions } from './compress';
export { CompressorError } from './errors';
export type { CompressorErrorType } from './errors';
export { validateCompressRequest } from './validate';
export { createCompressorServer } from './server';
export type { CompressorServerOptions } from './server';
export { warmUpTokenizers } from './tokens';
export { checkRetention } from './retention';
export type { RetentionReport, RetentionCheck } from './retention';
// The type of checkRetention's optional context (what a tool output answered).
export type { ToolOutputContext } from './context';
