/**
 * The compressor as a Headroom-compatible HTTP service (plain node:http): `POST /v1/compress`,
 * `GET /health`, `/livez`, `/readyz`. It answers every request, whatever its body; no input makes
 * the process throw. Message content is never logged.
 */
import * as http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import type { CompressFunction, CompressRequest, CompressResponse } from '../contract';
import { contentHash, type RetrievalStore } from '../ccr';
import { headroomRetrieval } from '../retrieval-router';
import { LruRetrievalStore } from '../retrieval-store';
import { compress as embeddedCompress } from './compress';
import { CompressorError, compressionTimeout, invalidRequest } from './errors';
import { validateCompressRequest } from './validate';

export interface CompressorServerOptions {
  /** The compressor behind the endpoint; the embedded one by default. */
  compress?: CompressFunction;
  /** The service's own limit per request, answered with 503 compression_timeout (default 30 s, as Headroom). */
  timeLimitMs?: number;
  /** Largest request body, before and after decompression (default 64 MiB); larger → 413. */
  maxBodyBytes?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401 `{"error":"unauthorized"}`). */
  token?: string;
  /**
   * Where the originals behind the markers it writes are kept, served at `GET /v1/retrieve/{hash}` and
   * `POST /v1/retrieve` as Headroom's service serves them (to loopback callers, or to bearers of
   * `token`), so a client other than this package's middleware never gets a marker that points nowhere.
   * `false`: keep nothing (404). Default: an in-process `LruRetrievalStore` (64 MiB, 12 h).
   */
  retrievalStore?: RetrievalStore | false;
}

const DEFAULT_TIME_LIMIT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const HEALTH_PATHS = new Set(['/health', '/livez', '/readyz']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : 'http error');
  }
}

function errorBody(type: string, message: string): { error: { type: string; message: string } } {
  return { error: { type, message } };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...extraHeaders,
  });
  res.end(payload);
}

/** Decoders for the request's Content-Encoding, outermost last (`gzip, br` was gzipped then br'd). */
function decoders(contentEncoding: string | undefined): Transform[] {
  if (contentEncoding === undefined) return [];
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c.length > 0 && c !== 'identity');
  return codings.reverse().map((coding) => {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        return zlib.createGunzip();
      case 'deflate':
        return zlib.createInflate();
      case 'br':
        return zlib.createBrotliDecompress();
      case 'zstd': {
        // Node has zstd from 22.15 / 23.8 on; on older ones the coding is refused, not misread.
        const createZstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
        if (createZstd !== undefined) return createZstd();
        throw new HttpError(415, errorBody('invalid_request', 'content-encoding zstd is not supported by this Node.js version'));
      }
      default:
        throw new HttpError(415, errorBody('invalid_request', `unsupported content-encoding: ${coding.slice(0, 40)}`));
    }
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, errorBody('invalid_request', `request body exceeds ${limit} bytes`));
}

/** Reads the body, decoding it, and stops (413) as soon as either the raw or the decoded size passes the limit. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  let chain: Transform[];
  try {
    chain = decoders(req.headers['content-encoding']);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let raw = 0;
    let decoded = 0;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      for (const stage of chain) stage.destroy();
      reject(error);
    };
    let source: NodeJS.ReadableStream = req;
    req.on('data', (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > limit) fail(tooLarge(limit));
    });
    req.on('error', () => fail(new HttpError(400, errorBody('invalid_request', 'request body could not be read'))));
    for (const stage of chain) {
      stage.on('error', () => fail(new HttpError(400, errorBody('invalid_request', 'request body could not be decompressed'))));
      source = source.pipe(stage);
    }
    source.on('data', (chunk: Buffer) => {
      if (settled) return;
      decoded += chunk.length;
      if (decoded > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    });
    source.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
  });
}

function parseJsonBody(body: Buffer): unknown {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) throw invalidRequest('request body is empty');
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest('request body is not valid JSON');
  }
}

function authorized(req: http.IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The service's bypass: echo the messages back untouched. */
function bypassResponse(request: CompressRequest): CompressResponse {
  return {
    messages: request.messages,
    tokens_before: 0,
    tokens_after: 0,
    tokens_saved: 0,
    compression_ratio: 1,
    transforms_applied: [],
  };
}

/** Runs the compressor under the time limit: the signal aborts, and an answer that comes too late is dropped. */
async function runWithTimeLimit(compressFn: CompressFunction, request: CompressRequest, timeLimitMs: number): Promise<CompressResponse> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(compressionTimeout());
    }, timeLimitMs);
  });
  // The embedded compressor is synchronous: it cannot see the timer fire, so it is given the limit too.
  const options = { signal: controller.signal, timeLimitMs };
  try {
    return await Promise.race([Promise.resolve().then(() => compressFn(request, options)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Settings {
  compress: CompressFunction;
  timeLimitMs: number;
  maxBodyBytes: number;
  token: string | undefined;
  store: RetrievalStore | undefined;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The texts a marker can stand for: tool rows' content and `tool_result` blocks, strings or text parts. */
function toolTexts(request: CompressRequest): string[] {
  const out: string[] = [];
  const addParts = (content: unknown) => {
    if (typeof content === 'string') out.push(content);
    else if (Array.isArray(content))
      for (const p of content) if (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string') out.push((p as { text: string }).text);
  };
  for (const m of request.messages) {
    if (m.role === 'tool' || m.role === 'function') addParts(m.content);
    else if (m.role === 'user' && Array.isArray(m.content)) {
      for (const b of m.content) if (b && typeof b === 'object' && (b as { type?: unknown }).type === 'tool_result') addParts((b as { content?: unknown }).content);
    }
  }
  return out;
}

/** Keeps the original of every text whose content hash the reply lists. A store failure costs the caller nothing here. */
async function keepOriginals(store: RetrievalStore, request: CompressRequest, result: CompressResponse): Promise<void> {
  const hashes = new Set(result.ccr_hashes ?? []);
  if (hashes.size === 0) return;
  const now = Date.now();
  await Promise.all(
    toolTexts(request)
      .map((text) => [contentHash(text), text] as const)
      .filter(([hash]) => hashes.has(hash))
      .map(([hash, original]) => store.put(hash, { original, source: 'local', createdAt: now }, '*').catch(() => undefined)),
  );
}

async function handleCompress(req: http.IncomingMessage, res: http.ServerResponse, options: Settings): Promise<void> {
  if (options.token !== undefined && !authorized(req, options.token)) {
    sendJson(res, 401, { error: 'unauthorized' });
    return;
  }
  const body = parseJsonBody(await readBody(req, options.maxBodyBytes));
  const request = validateCompressRequest(body);
  const bypass = req.headers['x-headroom-bypass'];
  if (typeof bypass === 'string' && bypass.toLowerCase() === 'true') {
    sendJson(res, 200, bypassResponse(request));
    return;
  }
  const result = await runWithTimeLimit(options.compress, request, options.timeLimitMs);
  if (options.store) await keepOriginals(options.store, request, result);
  sendJson(res, 200, result);
}

function sendError(res: http.ServerResponse, error: unknown): void {
  if (error instanceof HttpError) {
    // After a 413 the rest of the body is not read: close the connection rather than drain it.
    sendJson(res, error.status, error.body, error.status === 413 ? { connection: 'close' } : {});
  } else if (error instanceof CompressorError) {
    sendJson(res, error.status, errorBody(error.type, error.message));
  } else {
    sendJson(res, 503, errorBody('compression_error', 'compression failed'));
  }
}

export function createCompressorServer(options: CompressorServerOptions = {}): http.Server {
  const settings: Settings = {
    compress: options.compress ?? embeddedCompress,
    timeLimitMs: options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    token: options.token,
    store: options.retrievalStore === false ? undefined : (options.retrievalStore ?? new LruRetrievalStore()),
  };
  const token = options.token;
  const retrieval = settings.store
    ? headroomRetrieval({
        store: settings.store,
        mcp: false,
        logger: quiet,
        // With a token, its bearers read; without, loopback callers (the router's default), as Headroom's service.
        ...(token !== undefined ? { authorize: (req) => (authorized(req, token) ? { all: true } : false) } : {}),
      })
    : undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (HEALTH_PATHS.has(path)) {
      if (method === 'GET' || method === 'HEAD') sendJson(res, 200, { status: 'ok' });
      else sendJson(res, 405, errorBody('invalid_request', 'method not allowed'), { allow: 'GET, HEAD' });
      req.resume();
      return;
    }
    if (path === '/v1/compress') {
      if (method !== 'POST') {
        sendJson(res, 405, errorBody('invalid_request', 'method not allowed'), { allow: 'POST' });
        req.resume();
        return;
      }
      handleCompress(req, res, settings).catch((error: unknown) => {
        sendError(res, error);
        // A request whose body was not read to the end leaves the socket unusable: let it go.
        if (!req.complete) res.once('finish', () => req.destroy());
      });
      return;
    }
    const notFound = () => {
      sendJson(res, 404, errorBody('not_found', 'not found'));
      req.resume();
    };
    if (retrieval && (path === '/v1/retrieve' || path.startsWith('/v1/retrieve/'))) {
      // The router reads only node's own request and response: it runs here without Express.
      retrieval(req as never, res as never, notFound);
      return;
    }
    notFound();
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
