/**
 * The package's embedded compressor, for `createGateway({ compressor })`, from its own entry point:
 * loaded (with its tokenizer) only when the gateway runs without a Headroom service.
 */
export { compress } from 'express-headroom/compressor';
