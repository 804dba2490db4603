/**
 * Logger injection, pino-compatible: anything with pino's `(obj, msg)` methods works (pino itself,
 * a pino child, or a console shim). The default is quiet except for warnings and errors, and no
 * call site ever passes message content: only ids, codes, counts and durations.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};

export const defaultLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (obj, msg) => console.warn(`[express-headroom] ${msg ?? ''}`, JSON.stringify(obj)),
  error: (obj, msg) => console.error(`[express-headroom] ${msg ?? ''}`, JSON.stringify(obj)),
};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
