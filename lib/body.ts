/**
 * Body plumbing: buffering the request once, decoding it, and replaying it to whatever proxies it
 * next. http-proxy (under http-proxy-middleware) forwards a request by `req.pipe(proxyReq)`; once a
 * body has been read, that pipe would send nothing while the original Content-Length promises
 * bytes, and the upstream hangs. So after the middleware has read or changed a body, `req.pipe` is
 * replaced by one that writes the exact bytes to forward, with a matching Content-Length, unless a
 * `proxyReq` hook (`fixRequestBody`) already wrote `req.body`: then it only ends the request, so the
 * body is never written twice.
 */
import * as bufferModule from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { HeadroomRequestError } from './errors';

/** A request body as it arrived: the chunks Node handed over, never copied on the way in. */
export interface RawBody {
  chunks: Buffer[];
  length: number;
  /** Whether `needle` occurs in the bytes (checked per chunk as they arrive, across chunk boundaries). */
  needleSeen: boolean;
}

const isAscii: ((b: Buffer) => boolean) | undefined = (bufferModule as { isAscii?: (b: Buffer) => boolean }).isAscii;

/**
 * The body as text for JSON.parse. Node 20's UTF-8 decoder is slow on large ASCII input (bench/decode.ts:
 * about 9 µs for a 128 KB Claude Code body on Node 20.20); a SIMD ASCII check then a Latin-1 copy
 * yields the same one-byte string for about 6 µs. Any non-ASCII byte takes the UTF-8 path.
 */
export function decodeChunks(raw: RawBody): string {
  const joined = joinChunks(raw);
  // One flat string: JSON.parse would flatten a concatenation of per-chunk strings anyway, at more cost.
  return isAscii && isAscii(joined) ? joined.toString('latin1') : joined.toString('utf8');
}

/** The body as one buffer: one allocation of the exact size, made only when a parse needs it. */
export function joinChunks(raw: RawBody): Buffer {
  return raw.chunks.length === 1 ? raw.chunks[0] : Buffer.concat(raw.chunks, raw.length);
}

/**
 * Reads the whole body, keeping the chunks as they come (no copy, no body-sized allocation: a
 * request that is not opted in is replayed from them as is) and scanning each for `needle` while the
 * rest is still arriving. Rejects over `limit` (413) as soon as that is known — from Content-Length
 * before reading anything — on a length mismatch (400), and when the client aborts.
 */
export function readRawBody(req: IncomingMessage, limit: number, needle?: Buffer): Promise<RawBody> {
  const declaredHeader = req.headers['content-length'];
  const declared = declaredHeader === undefined ? -1 : Number(declaredHeader);
  if (declared > limit) {
    return Promise.reject(new HeadroomRequestError('REQUEST_TOO_LARGE', 413, `request body of ${declared} bytes exceeds the gateway's limit of ${limit} bytes`));
  }
  return new Promise<RawBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    let seen = false;
    let tail: Buffer | undefined; // the last needle.length-1 bytes of the previous chunk
    const finish = (err: Error | null) => {
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
      } else resolve({ chunks, length: received, needleSeen: seen });
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return finish(new HeadroomRequestError('REQUEST_TOO_LARGE', 413, `request body exceeds the gateway's limit of ${limit} bytes`));
      if (declared >= 0 && received > declared) return finish(new HeadroomRequestError('REQUEST_LENGTH_MISMATCH', 400, 'request body is longer than its Content-Length'));
      chunks.push(chunk);
      if (needle && !seen) {
        if (chunk.indexOf(needle) !== -1) seen = true;
        else if (tail && Buffer.concat([tail, chunk.subarray(0, needle.length - 1)]).indexOf(needle) !== -1) seen = true;
        else
          tail =
            chunk.length >= needle.length - 1 ? chunk.subarray(chunk.length - (needle.length - 1)) : Buffer.concat([tail ?? Buffer.alloc(0), chunk]).subarray(-(needle.length - 1));
      }
    };
    const onEnd = () => {
      if (declared >= 0 && received !== declared) return finish(new HeadroomRequestError('REQUEST_LENGTH_MISMATCH', 400, 'request body is shorter than its Content-Length'));
      finish(null);
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

/**
 * Most a body may expand when decoded. Real request JSON gzips 5–20× (the Claude Code fixtures: 18×);
 * past 100× it is a bomb, not a conversation. With this bound, decoding costs at most 100 bytes of
 * memory per byte the client actually sent, however many such bodies arrive at once.
 */
export const MAX_INFLATE_RATIO = 100;

/**
 * Decodes a request body off the event loop (zlib's streaming decoders run on the thread pool),
 * stopping as soon as the output passes `limit` or {@link MAX_INFLATE_RATIO} times the input: both
 * reject with `REQUEST_TOO_LARGE` (413). Corrupt data rejects with `REQUEST_INVALID_JSON` (400).
 */
export function decodeBody(chunks: Buffer[], encoding: 'gzip' | 'deflate' | 'br', limit: number): Promise<Buffer> {
  const encodedLength = chunks.reduce((n, c) => n + c.length, 0);
  const bound = Math.min(limit, Math.max(64 * 1024, encodedLength * MAX_INFLATE_RATIO));
  const decoder = encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : createBrotliDecompress();
  return new Promise<Buffer>((resolve, reject) => {
    const out: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: HeadroomRequestError) => {
      if (settled) return;
      settled = true;
      decoder.destroy();
      reject(err);
    };
    decoder.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= bound) return void out.push(chunk);
      const why = bound === limit ? `the gateway's limit of ${limit} bytes` : `${MAX_INFLATE_RATIO} times its ${encodedLength} encoded bytes`;
      fail(new HeadroomRequestError('REQUEST_TOO_LARGE', 413, `decoded request body exceeds ${why}; send it uncompressed`));
    });
    decoder.on('error', () => fail(new HeadroomRequestError('REQUEST_INVALID_JSON', 400, `request body is not valid ${encoding} data`)));
    decoder.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(out.length === 1 ? out[0] : Buffer.concat(out, size));
    });
    for (const c of chunks) decoder.write(c);
    decoder.end();
  });
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
export type ReplayBytes = Buffer | Buffer[] | string;

function byteLength(body: ReplayBytes): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (Array.isArray(body)) return body.reduce((n, c) => n + c.length, 0);
  return body.length;
}

export function replayBody(req: IncomingMessage, getBytesFn: () => ReplayBytes, changed: boolean, knownLength?: number): void {
  let getBytes: (() => ReplayBytes) | undefined = getBytesFn;
  const headers = req.headers;
  if (knownLength !== undefined) headers['content-length'] = String(knownLength);
  delete headers['transfer-encoding'];
  // The client's `Expect: 100-continue` was answered when its body was read (Node answers it before
  // 'request'). Forwarded, it makes Node send the proxy request's headers at once and makes
  // http-proxy skip its `proxyReq` event, so no hook (fixRequestBody, a gateway's key injection)
  // would run and the Content-Length could not be set: it must not go on.
  delete headers.expect;
  if (changed) delete headers['content-encoding'];
  let piped = false;
  // Own property on this request only: express's prototype chain and other requests are untouched.
  Object.defineProperty(req, 'pipe', {
    configurable: true,
    writable: true,
    value: function pipeReplay<T extends NodeJS.WritableStream>(dest: T): T {
      if (piped) return dest;
      piped = true;
      const sink = dest as unknown as HeaderSink;
      const hookWrote = watchWrites(sink);
      const write = () => {
        hookWrote.stop();
        const bytes = getBytes;
        // The request object lives until the response ends; the bytes need not. Dropping them here
        // lets them die young instead of being promoted while the upstream answers.
        getBytes = undefined;
        if (hookWrote.wrote) return void sink.end(); // a proxyReq hook (fixRequestBody) wrote req.body
        let body: ReplayBytes;
        try {
          body = bytes!();
        } catch (err) {
          // Never thrown out of a socket listener, where it would take the process down.
          return void sink.destroy(err as Error);
        }
        writeReplay(sink, body, knownLength ?? byteLength(body));
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

/** Notes whether anyone writes to `sink` until `stop()` (which puts its own methods back). */
function watchWrites(sink: HeaderSink): { wrote: boolean; stop(): void } {
  const state = {
    wrote: false,
    stop() {
      delete (sink as { write?: unknown }).write;
      delete (sink as { end?: unknown }).end;
    },
  };
  const proto = Object.getPrototypeOf(sink) as HeaderSink;
  if (typeof proto?.write !== 'function' || Object.prototype.hasOwnProperty.call(sink, 'write')) {
    state.stop = () => {};
    return state;
  }
  const write = proto.write;
  const end = proto.end;
  Object.defineProperty(sink, 'write', {
    configurable: true,
    writable: true,
    value: function (this: HeaderSink, ...args: unknown[]) {
      state.wrote = true;
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    },
  });
  Object.defineProperty(sink, 'end', {
    configurable: true,
    writable: true,
    value: function (this: HeaderSink, ...args: unknown[]) {
      if (args.length > 0 && typeof args[0] !== 'function') state.wrote = true;
      return (end as (...a: unknown[]) => unknown).apply(this, args);
    },
  });
  return state;
}

/** Writes the body with a matching Content-Length, or fails the proxy request when that is impossible. */
function writeReplay(sink: HeaderSink, body: ReplayBytes, length: number): void {
  if (sink.headersSent) {
    // Headers already went out (a hook flushed them): the body must match what they promised.
    const promised = (sink as { getHeader?(n: string): unknown }).getHeader?.('content-length');
    if (promised !== undefined && Number(promised) !== length) {
      return void sink.destroy(new Error(`proxy request headers were sent with Content-Length ${String(promised)} before the ${length}-byte body`));
    }
  } else if (typeof sink.setHeader === 'function') {
    sink.removeHeader?.('transfer-encoding');
    sink.setHeader('content-length', length);
  }
  if (Array.isArray(body)) {
    // The chunks as they arrived, handed to the socket in one corked batch.
    sink.cork();
    for (const chunk of body) sink.write(chunk);
    sink.end();
  } else sink.end(body);
}
