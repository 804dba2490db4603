/**
 * Typed errors. Every failure the middleware can meet has a stable `code`, so callers (and
 * `onResult` consumers) can branch on it without parsing messages.
 */

/** Why a compress call failed. All of them fall back per `unreachableFallback`. */
export type ServiceErrorCode =
  | 'HEADROOM_UNREACHABLE' // connection refused/reset, DNS, socket errors
  | 'HEADROOM_TIMEOUT' // the whole call exceeded timeoutMs
  | 'HEADROOM_ABORTED' // the client went away while we were compressing
  | 'HEADROOM_HTTP_STATUS' // non-200 that is none of the below
  | 'HEADROOM_UNAUTHORIZED' // 401: wrong or missing apiKey
  | 'HEADROOM_NOT_FOUND' // bare 404: the service refuses non-loopback callers
  | 'HEADROOM_SERVICE_ERROR' // 503 compression_timeout / compression_error
  | 'HEADROOM_INVALID_JSON' // 200 whose body is not JSON
  | 'HEADROOM_INVALID_SHAPE' // JSON that does not match the contract
  | 'HEADROOM_ROW_COUNT' // reply changed the number of messages
  | 'HEADROOM_REPLY_TOO_LARGE' // reply far larger than what was sent
  | 'HEADROOM_CIRCUIT_OPEN' // breaker open: the service is not called
  | 'HEADROOM_OVERLOADED' // too many compress calls in flight
  | 'HEADROOM_COMPRESSOR_THREW' // the in-process compressor threw
  | 'HEADROOM_INTERNAL'; // a defect in this middleware: forwarded uncompressed, logged

/** Why the middleware refused a request itself (these never reach the upstream). */
export type RequestErrorCode = 'REQUEST_INVALID_JSON' | 'REQUEST_TOO_LARGE' | 'REQUEST_TOO_COMPLEX' | 'REQUEST_LENGTH_MISMATCH' | 'REQUEST_ABORTED';

export class HeadroomServiceError extends Error {
  readonly code: ServiceErrorCode;
  /** HTTP status the service answered with, when it answered. */
  readonly status?: number;
  constructor(code: ServiceErrorCode, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HeadroomServiceError';
    this.code = code;
    this.status = status;
  }
}

export class HeadroomRequestError extends Error {
  readonly code: RequestErrorCode;
  /** The status the caller should get (body-parser reports errors thrown from `verify` as 403 whatever this says). */
  readonly status: number;
  /** For body-parser's error handling: `entity.too.complex` for shape limits, as body-parser's own `entity.too.large`. */
  readonly type: string;
  constructor(code: RequestErrorCode, status: number, message: string) {
    super(message);
    this.name = 'HeadroomRequestError';
    this.code = code;
    this.status = status;
    this.type = code === 'REQUEST_TOO_COMPLEX' ? 'entity.too.complex' : `headroom.${code.toLowerCase()}`;
  }
}

/** Thrown by `headroomCompression()` when its options cannot work. Message says how to fix the call. */
export class HeadroomConfigError extends Error {
  readonly code = 'HEADROOM_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'HeadroomConfigError';
  }
}

export type Provider = 'anthropic' | 'openai';

/** Anthropic's `/v1/messages` family answers in its own error shape; everything else is OpenAI-shaped. */
export function providerForPath(path: string): Provider {
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  return /\/messages(\/|$)/.test(p) ? 'anthropic' : 'openai';
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  502: 'api_error',
  503: 'api_error',
};

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'invalid_request_error',
  404: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_exceeded',
  502: 'api_error',
  503: 'api_error',
};

/** The body a provider would send for this status, so SDKs parse our errors like theirs. */
export function providerErrorBody(provider: Provider, status: number, message: string, code?: string): object {
  if (provider === 'anthropic') {
    return { type: 'error', error: { type: ANTHROPIC_TYPES[status] ?? 'api_error', message } };
  }
  return { error: { message, type: OPENAI_TYPES[status] ?? 'api_error', param: null, code: code ?? null } };
}
