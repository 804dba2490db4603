/**
 * The service's error statuses, as an error class: the server maps it to its HTTP status and body
 * (`{"error":{"type":…,"message":…}}`), an in-process caller can branch on `status` and `type`.
 */

export type CompressorErrorType = 'invalid_request' | 'compression_timeout' | 'compression_error';

export class CompressorError extends Error {
  readonly status: 400 | 503;
  readonly type: CompressorErrorType;

  constructor(status: 400 | 503, type: CompressorErrorType, message: string) {
    super(message);
    this.name = 'CompressorError';
    this.status = status;
    this.type = type;
  }

  /** The body the service answers with. */
  toJSON(): { error: { type: CompressorErrorType; message: string } } {
    return { error: { type: this.type, message: this.message } };
  }
}

export function invalidRequest(message: string): CompressorError {
  return new CompressorError(400, 'invalid_request', message);
}

export function compressionTimeout(message = 'compression took longer than its time limit'): CompressorError {
  return new CompressorError(503, 'compression_timeout', message);
}
