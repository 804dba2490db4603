/**
 * What the gateway learns about one /v1 request as it moves through the chain, kept in
 * `res.locals.gateway`. Each step fills in its part (route, key, model, upstream times); when the
 * response closes, record.ts turns the whole of it into one spend-log row.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { VirtualKey } from './keys';
import { pathOf, type Route } from './routing';

export interface RequestState {
  /** The spend-log row's id, sent back as `x-litellm-call-id`. */
  id: string;
  receivedAt: number;
  /** performance.now() at arrival: latency without wall-clock jumps. */
  t0: number;
  method: string;
  path: string;
  route?: Route;
  key?: VirtualKey;
  master?: boolean;
  model?: string;
  stream: boolean;
  /** Gateway-level outcome (`unauthorized`, `route_not_found`, …), stored in the spend log. */
  error?: string;
  requestBytes: number | null;
  forwardedBytes: number | null;
  upstreamStartedAt: number | null;
  upstreamFirstByteAt: number | null;
  upstreamEndedAt: number | null;
  upstreamStatus: number | null;
}

/** Called once per request when its response closes (finished or not). */
export type OnRequestEnd = (req: Request, res: Response, st: RequestState) => void;

/**
 * The state from the request alone: http-proxy's hooks and the middleware's `enabledFor` get
 * `req` without `res`, and Express links the two (`req.res`).
 */
export function stateOf(req: IncomingMessage): RequestState | undefined {
  return ((req as Request).res as Response | undefined)?.locals?.gateway as RequestState | undefined;
}

/** The state, for the steps after `begin` (which always set it). */
export function requestState(res: Response): RequestState {
  return res.locals.gateway as RequestState;
}

/** A parsed JSON body that is an object (not an array, not a scalar). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first /v1 step: gives the request its id and clock, and records it however it ends. */
export function begin(onEnd: OnRequestEnd): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = req.headers['content-length'];
    const st: RequestState = {
      id: randomUUID(),
      receivedAt: Date.now(),
      t0: performance.now(),
      method: req.method,
      path: pathOf(req.originalUrl),
      stream: false,
      requestBytes: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
      forwardedBytes: null,
      upstreamStartedAt: null,
      upstreamFirstByteAt: null,
      upstreamEndedAt: null,
      upstreamStatus: null,
    };
    res.locals.gateway = st;
    res.setHeader('x-litellm-call-id', st.id);
    // 'close', not 'finish': a client that hangs up mid-answer still gets its row (error client_closed).
    res.once('close', () => onEnd(req, res, st));
    dropExpect(req);
    next();
  };
}

/**
 * http-proxy emits `proxyReq` only when the outgoing request has no `expect` header (its
 * web-incoming pass: `if (server && !proxyReq.getHeader('expect'))`), and it copies the client's
 * headers. A client sending `Expect: 100-continue` (curl does for bodies over 1 MB) would skip the
 * proxyReq hook (proxy.ts): no provider key, the bypass header forwarded, and a parsed JSON body
 * never written (the upstream waits for it forever). Node's server has already answered
 * `100 Continue` before express runs (no checkContinue listener), so the header has done its job:
 * drop it, first thing. (express-headroom drops it too when it replays a body it read, but a GET,
 * or a request it never reads, goes past it: the gateway does not rely on that.)
 */
function dropExpect(req: Request): void {
  delete req.headers.expect;
}
