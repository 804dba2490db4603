/**
 * The package's embedded compressor, for `createGateway({ compressor })`.
 *
 * lib/index.ts does not export `compress` yet; once it does, this line becomes
 *   export { compress } from 'express-headroom';
 * and nothing else in the gateway changes.
 */
export { compress } from 'express-headroom';
