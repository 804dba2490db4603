/**
 * Body plumbing: buffering the request once, decoding it, and replaying it to whatever proxies it
 * next. http-proxy (under http-proxy-middleware) forwards a request by `req.pipe(proxyReq)`; once a
 * body has been read, that pipe would send nothing while the original Content-Length promises
 * bytes, and the upstream hangs. So after the middleware has read or changed a body, `req.pipe` is
 * replaced by one that writes the exact bytes to forward, with a matching Content-Length, unless a
 * `proxyReq` hook (`fixRequestBody`) already wrote `req.body`: then it only ends the request, so the
 * body is never written twice.
 */
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { HeadroomRequestError } from './errors';

/**
 * Reads the whole body into one buffer. With a Content-Length it allocates exactly once; chunked
 * bodies are gathered and joined once. Rejects over `limit` (413) as soon as that is known, on a
 * length mismatch (400), and when the client aborts.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declaredHeader = req.headers['content-length'];
  const declared = declaredHeader === undefined ? -1 : Number(declaredHeader);
  if (declared > limit) {
    return Promise.reject(new HeadroomRequestError('REQUEST_TOO_LARGE', 413, `request body of ${declared} bytes exceeds the gateway's limit of ${limit} bytes`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const fixed = declared >= 0 ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (err: Error | null, buf?: Buffer) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) {
        // Stop reading: nothing of this request will be forwarded.
        req.resume();
        reject(err);
      } else resolve(buf!);
    };
    const onData = (chunk: Buffer) => {
      const next = received + chunk.length;
      if (next > limit) return finish(new HeadroomRequestError('REQUEST_TOO_LARGE', 413, `request body exceeds the gateway's limit of ${limit} bytes`));
      if (fixed) {
        if (next > fixed.length) return finish(new HeadroomRequestError('REQUEST_LENGTH_MISMATCH', 400, 'request body is longer than its Content-Length'));
        chunk.copy(fixed, received);
      } else chunks.push(chunk);
      received = next;
    };
    const onEnd = () => {
      if (fixed) {
        if (received !== fixed.length) return finish(new HeadroomRequestError('REQUEST_LENGTH_MISMATCH', 400, 'request body is shorter than its Content-Length'));
        return finish(null, fixed);
      }
      finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    const onError = (err: Error) => finish(new HeadroomRequestError('REQUEST_ABORTED', 400, `request body could not be read: ${err.message}`));
    const onClose = () => {
      if (!req.complete) finish(new HeadroomRequestError('REQUEST_ABORTED', 400, 'client closed the connection before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Content-Encoding values the middleware can decode; anything else is forwarded untouched. */
export function decodableEncoding(header: string | undefined): 'identity' | 'gzip' | 'deflate' | 'br' | undefined {
  if (!header) return 'identity';
  const v = header.trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate' || v === 'br') return v;
  return undefined;
}

/** Decodes a request body, refusing to inflate past `limit` (a zip bomb gets 413, not an OOM). */
export function decodeBody(raw: Buffer, encoding: 'identity' | 'gzip' | 'deflate' | 'br', limit: number): Buffer {
  if (encoding === 'identity') return raw;
  try {
    const opts = { maxOutputLength: limit };
    if (encoding === 'gzip') return gunzipSync(raw, opts);
    if (encoding === 'deflate') return inflateSync(raw, opts);
    return brotliDecompressSync(raw, opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new HeadroomRequestError('REQUEST_TOO_LARGE', 413, `decoded request body exceeds the gateway's limit of ${limit} bytes`);
    throw new HeadroomRequestError('REQUEST_INVALID_JSON', 400, `request body is not valid ${encoding} data`);
  }
}

interface HeaderSink extends Writable {
  headersSent?: boolean;
  setHeader?(name: string, value: string | number): unknown;
  removeHeader?(name: string): unknown;
}

/**
 * Makes `req` forward the bytes `getBytes()` returns when piped, and fixes the headers a proxy copies
 * from it. `getBytes` runs at most once, and only if no `proxyReq` hook wrote the body first, so a
 * body that `fixRequestBody` serialises is not serialised here too.
 * `changed`: the body differs from what the client sent (so any Content-Encoding no longer applies).
 */
export function replayBody(req: IncomingMessage, getBytes: () => Buffer, changed: boolean, knownLength?: number): void {
  const headers = req.headers;
  if (knownLength !== undefined) headers['content-length'] = String(knownLength);
  delete headers['transfer-encoding'];
  if (changed) delete headers['content-encoding'];
  let piped = false;
  // Own property on this request only: express's prototype chain and other requests are untouched.
  Object.defineProperty(req, 'pipe', {
    configurable: true,
    writable: true,
    value: function pipeReplay<T extends NodeJS.WritableStream>(dest: T): T {
      const sink = dest as unknown as HeaderSink;
      if (piped) return dest;
      piped = true;
      const write = () => {
        if (sink.headersSent) {
          // A proxyReq hook (fixRequestBody) already wrote req.body with its own Content-Length.
          sink.end();
          return;
        }
        const bytes = getBytes();
        if (typeof sink.setHeader === 'function') {
          sink.removeHeader?.('transfer-encoding');
          sink.setHeader('content-length', bytes.length);
        }
        sink.end(bytes);
      };
      // http-proxy emits `proxyReq` (where fixRequestBody writes) from the request's 'socket' event,
      // which comes after this pipe call. Writing from a 'socket' listener registered later than
      // http-proxy's lets such hooks run first, as they do when an already-read stream is piped.
      const client = dest as unknown as { socket?: unknown; once?: (ev: string, fn: () => void) => void };
      if (client.socket === null && typeof client.once === 'function') client.once('socket', write);
      else process.nextTick(write);
      return dest;
    },
  });
}
