/**
 * The HTTP edges of the retrieval router: who the caller is (authorize), its small JSON body, and
 * answers in OpenAI's error shape. Shared by the REST routes and the MCP endpoint.
 */
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { readRawBody } from './body';
import type { HeadroomRequestError } from './errors';
import type { Logger } from './logger';
import type { RetrievalAccess, RetrievalAuthorize } from './retrieval-options';

/** Largest body the retrieval routes read: a hash and a query fit many times over. */
export const RETRIEVAL_BODY_LIMIT = 64 * 1024;

const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The name in a Host header, lowercased, without its port. */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/**
 * The default `authorize`: callers on loopback read every original; others are refused, as the
 * Headroom service serves retrieval to loopback callers only. Two more checks keep "loopback"
 * meaning "a process on this machine": a request carrying `Forwarded`/`X-Forwarded-For` came
 * through a proxy (behind a local reverse proxy every caller would look local), and a Host that is
 * not a loopback name is a browser page that rebound its own DNS name to 127.0.0.1.
 */
export function loopbackRetrievalAccess(req: Request): RetrievalAccess | false {
  if (!LOOPBACK_ADDRESSES.has(req.socket?.remoteAddress ?? '')) return false;
  if (req.headers.forwarded !== undefined || req.headers['x-forwarded-for'] !== undefined) return false;
  return LOOPBACK_HOSTS.has(hostName(req.headers.host)) ? { all: true } : false;
}

/**
 * Aborts when the response closes before it was written in full: the client went away (or the
 * socket failed). Long work for the request (filtering a large original) checks it between slices.
 */
export function closeSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  if (res.destroyed && !res.writableFinished) controller.abort(new RetrievalAbortedError());
  else res.once('close', () => void (res.writableFinished || controller.abort(new RetrievalAbortedError())));
  return controller.signal;
}

/** The reason of a {@link closeSignal} abort: the caller is gone, so nothing is answered or logged as a failure. */
export class RetrievalAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('the retrieval request closed before it was answered');
  }
}

/** OpenAI's error shape, which every retrieval route answers with. */
export function errorBody(status: number, message: string, code: string): string {
  const type = status === 401 ? 'authentication_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code } });
}

export function sendJson(res: Response, status: number, body: string, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Encoded once, for its length and to send (an original can be tens of megabytes: one pass, not two).
  const bytes = Buffer.from(body, 'utf8');
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', bytes.length);
  // Originals are tool output: no shared cache keeps them.
  res.setHeader('cache-control', 'no-store');
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  res.end(bytes);
}

export function sendError(res: Response, status: number, message: string, code: string, extraHeaders?: Record<string, string>): void {
  sendJson(res, status, errorBody(status, message, code), extraHeaders);
}

/** Unknown, expired and not-yours get these same bytes: whether a hash exists is not told. */
export const NOT_FOUND_BODY = errorBody(404, 'unknown or expired hash', 'not_found');

export type AccessOutcome = { kind: 'access'; access: RetrievalAccess } | { kind: 'refused' } | { kind: 'failed' };

/** Runs `authorize`; a throw or an answer that is not an access is a defect of the caller's code: logged, never a crash. */
export async function resolveAccess(req: Request, authorize: RetrievalAuthorize, logger: Logger): Promise<AccessOutcome> {
  let answer: unknown;
  try {
    answer = await authorize(req);
  } catch (err) {
    logger.warn({ err: (err as Error)?.message }, 'headroomRetrieval: authorize threw; answered 500');
    return { kind: 'failed' };
  }
  if (answer === false || answer === undefined || answer === null) return { kind: 'refused' };
  const a = answer as Partial<{ all: unknown; owner: unknown }>;
  if (a.all === true) return { kind: 'access', access: { all: true } };
  if (typeof a.owner === 'string' && a.owner.length > 0 && a.owner.length <= 256) return { kind: 'access', access: { owner: a.owner } };
  logger.warn({}, 'headroomRetrieval: authorize returned neither { owner: string (1–256 characters) } nor { all: true } nor false; answered 500');
  return { kind: 'failed' };
}

export type BodyOutcome = { kind: 'json'; value: unknown } | { kind: 'answered' };

/**
 * The request's JSON body, at most {@link RETRIEVAL_BODY_LIMIT} bytes; a body an earlier
 * `express.json()` already parsed is taken as it is. Answers 413/400/415 itself (`onBadJson` words
 * the 400 for the route: OpenAI's shape for REST, JSON-RPC's for MCP).
 */
export async function readJson(req: Request, res: Response, onBadJson: () => void): Promise<BodyOutcome> {
  if ((req as { _body?: boolean })._body === true || req.readableEnded) return { kind: 'json', value: req.body };
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    sendError(res, 415, 'send the retrieval request uncompressed (no Content-Encoding)', 'unsupported_encoding', { connection: 'close' });
    return { kind: 'answered' };
  }
  let text: string;
  try {
    const raw = await readRawBody(req, RETRIEVAL_BODY_LIMIT);
    text = Buffer.concat(raw.chunks, raw.length).toString('utf8');
  } catch (err) {
    const e = err as HeadroomRequestError;
    if (e.code === 'REQUEST_ABORTED') res.destroy();
    else sendError(res, e.status ?? 400, e.message, e.code === 'REQUEST_TOO_LARGE' ? 'request_too_large' : 'invalid_request', { connection: 'close' });
    return { kind: 'answered' };
  }
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch {
    onBadJson();
    return { kind: 'answered' };
  }
}
