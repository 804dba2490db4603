/**
 * `headroomRetrieval()`: serves kept originals back, two ways over one store — REST
 * (`GET {retrievePath}/:hash`, `POST {retrievePath}`, in the Headroom service's shape) and the
 * `headroom_retrieve` tool over MCP. A plain Express handler, not an express.Router: it loads no
 * express at run time, and answers alike on express 4 and 5 (paths and query strings are parsed here).
 *
 *   app.use(headroomRetrieval({ store: headroom.retrievalStore }));
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RETRIEVAL_HASH } from './ccr';
import { createRetrievalServiceClient, type RetrievalServiceClient } from './retrieval-fetch';
import { NOT_FOUND_BODY, RetrievalAbortedError, closeSignal, loopbackRetrievalAccess, readJson, resolveAccess, sendError, sendJson } from './retrieval-http';
import { lookup, type LookupDeps } from './retrieval-lookup';
import { createMcpHandler, INTERNAL_ERROR_RPC, loadMcpSdk, METHOD_NOT_ALLOWED_RPC, PARSE_ERROR_RPC, type McpHandler } from './retrieval-mcp';
import { resolveRetrievalOptions, type HeadroomRetrievalOptions, type RetrievalAccess, type RetrievalConfig } from './retrieval-options';
import { MAX_QUERY_LENGTH, MAX_QUERY_TERMS, queryTerms } from './retrieval-query';

export interface HeadroomRetrieval extends RequestHandler {
  /** The store it serves from. */
  readonly store: RetrievalConfig['store'];
  /** Closes the keep-alive pool to the Headroom service, if any. */
  close(): Promise<void>;
}

type Route = { kind: 'hash'; hash: string } | { kind: 'post' } | { kind: 'mcp' } | undefined;

/** Which route a path (relative to where the handler is mounted) is; one trailing slash is tolerated as express does. */
function routeOf(path: string, c: RetrievalConfig): Route {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (c.mcp && p === c.mcpPath) return { kind: 'mcp' };
  if (p === c.retrievePath) return { kind: 'post' };
  if (p.startsWith(c.retrievePath + '/') && p.indexOf('/', c.retrievePath.length + 1) === -1) return { kind: 'hash', hash: p.slice(c.retrievePath.length + 1) };
  return undefined;
}

type QueryCheck = { ok: true; query?: string } | { ok: false; message: string };

/** A query is optional; present, it is a string of at most MAX_QUERY_LENGTH characters and MAX_QUERY_TERMS terms. Empty means none. */
function checkQuery(q: unknown): QueryCheck {
  if (q === undefined || q === null) return { ok: true };
  if (typeof q !== 'string') return { ok: false, message: 'query must be a string' };
  if (q.length > MAX_QUERY_LENGTH) return { ok: false, message: `query must be at most ${MAX_QUERY_LENGTH} characters` };
  if (q.trim() === '') return { ok: true };
  if (queryTerms(q).length > MAX_QUERY_TERMS) return { ok: false, message: `query must have at most ${MAX_QUERY_TERMS} terms` };
  return { ok: true, query: q };
}

const BAD_HASH = 'hash must be 12–24 lowercase hex characters, as in a hash= marker';

/** The hash and query of a REST request, or undefined when it was answered 400 (or the body could not be read). */
async function restInput(req: Request, res: Response, route: Route & object, search: string): Promise<{ hash: string; query?: string } | undefined> {
  let hash: unknown;
  let rawQuery: unknown;
  if (route.kind === 'hash') {
    const params = new URLSearchParams(search);
    const all = params.getAll('query');
    if (all.length > 1) return void sendError(res, 400, 'pass query at most once', 'invalid_request');
    hash = route.hash;
    rawQuery = all[0];
  } else {
    const body = await readJson(req, res, () => sendError(res, 400, 'the body must be JSON: {"hash": "<hex>", "query"?: "<words>"}', 'invalid_request', { connection: 'close' }));
    if (body.kind === 'answered') return undefined;
    const v = body.value as { hash?: unknown; query?: unknown } | null;
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return void sendError(res, 400, 'the body must be a JSON object: {"hash": "<hex>", "query"?: "<words>"}', 'invalid_request');
    hash = v.hash;
    rawQuery = v.query;
  }
  if (typeof hash !== 'string' || !RETRIEVAL_HASH.test(hash)) return void sendError(res, 400, BAD_HASH, 'invalid_request');
  const q = checkQuery(rawQuery);
  if (!q.ok) return void sendError(res, 400, q.message, 'invalid_request');
  return { hash, query: q.query };
}

async function serveRest(deps: LookupDeps, req: Request, res: Response, route: Route & object, search: string, access: RetrievalAccess): Promise<void> {
  const input = await restInput(req, res, route, search);
  if (!input) return;
  let found;
  try {
    // A client that goes away stops a long query filter between two slices.
    found = await lookup(deps, input.hash, access, input.query, closeSignal(res));
  } catch (err) {
    if (err instanceof RetrievalAbortedError) return; // the caller is gone: nothing to answer or log
    deps.logger.warn({ err: (err as Error)?.message }, 'headroomRetrieval: retrieval store failed');
    return sendError(res, 503, 'retrieval store unavailable; try again later', 'store_unavailable');
  }
  if (!found) return sendJson(res, 404, NOT_FOUND_BODY);
  sendJson(res, 200, JSON.stringify(found.body));
}

async function serveMcp(mcp: McpHandler, req: Request, res: Response, access: RetrievalAccess, c: RetrievalConfig): Promise<void> {
  const body = await readJson(req, res, () => sendJson(res, 400, PARSE_ERROR_RPC));
  if (body.kind === 'answered') return;
  try {
    await mcp(req, res, body.value, access);
  } catch (err) {
    c.logger.error({ err: (err as Error)?.message }, 'headroomRetrieval: MCP request failed');
    sendJson(res, 500, INTERNAL_ERROR_RPC);
  }
}

/** Methods each route answers; any other gets 405 with `Allow`. */
const ALLOWED: Record<'hash' | 'post' | 'mcp', string[]> = { hash: ['GET', 'HEAD'], post: ['POST'], mcp: ['POST'] };

async function handle(c: RetrievalConfig, deps: LookupDeps, mcp: McpHandler | undefined, req: Request, res: Response, next: NextFunction): Promise<void> {
  const url = req.url ?? '/';
  const qmark = url.indexOf('?');
  const route = routeOf(qmark === -1 ? url : url.slice(0, qmark), c);
  if (!route) return next();
  if (!ALLOWED[route.kind].includes(req.method)) {
    const allow = { allow: ALLOWED[route.kind].join(', ') };
    if (route.kind === 'mcp') return sendJson(res, 405, METHOD_NOT_ALLOWED_RPC, allow);
    return sendError(res, 405, `use ${allow.allow} on this path`, 'method_not_allowed', allow);
  }
  // Access before anything else: a refused caller learns nothing about hashes or bodies.
  const outcome = await resolveAccess(req, c.authorize, c.logger);
  if (outcome.kind === 'refused') return sendError(res, 401, 'not authorised to retrieve originals', 'unauthorized');
  if (outcome.kind === 'failed') return sendError(res, 500, 'retrieval authorisation failed', 'authorize_failed');
  if (route.kind === 'mcp') return serveMcp(mcp!, req, res, outcome.access, c);
  return serveRest(deps, req, res, route, qmark === -1 ? '' : url.slice(qmark + 1), outcome.access);
}

/**
 * Creates the retrieval handler. Throws {@link HeadroomConfigError} at once when the options cannot
 * work (no store, a bad apiBase, `mcp` without `@modelcontextprotocol/sdk` installed, …).
 */
export function headroomRetrieval(options: HeadroomRetrievalOptions): HeadroomRetrieval {
  const c = resolveRetrievalOptions(options, loopbackRetrievalAccess);
  const sdk = c.mcp ? loadMcpSdk() : undefined;
  const service: RetrievalServiceClient | undefined = c.apiBase ? createRetrievalServiceClient({ apiBase: c.apiBase, apiKey: c.apiKey, timeoutMs: c.timeoutMs }) : undefined;
  const deps: LookupDeps = { store: c.store, service, logger: c.logger };
  const mcp = sdk ? createMcpHandler(deps, sdk) : undefined;
  const handler = (req: Request, res: Response, next: NextFunction) => {
    handle(c, deps, mcp, req, res, next).catch((err) => {
      // Defects only (every expected failure is answered above): a 500, never a crash.
      c.logger.error({ err: (err as Error)?.message }, 'headroomRetrieval: request failed');
      sendError(res, 500, 'retrieval failed', 'internal_error');
    });
  };
  return Object.assign(handler, { store: c.store, close: async () => service?.close() }) as HeadroomRetrieval;
}
