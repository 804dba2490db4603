/**
 * The gateway: express-headroom used exactly as a user imports it, in front of
 * http-proxy-middleware, with what a platform team rolling compression out to Claude Code needs:
 * provider routing with the provider key injected, LiteLLM-style virtual keys, a spend log in
 * SQLite, Prometheus metrics.
 *
 * Per /v1 request:
 *   begin (id, clock, spend-log hook; `Expect` dropped) → route (404) → authenticate (401; client key removed)
 *   → express.json (400/413) → model check (400/403) → headroomCompression → proxy (provider key added,
 *   bypass header removed)
 *
 * `createGateway(config)` builds it from a plain object (no globals, nothing read from the
 * environment); `server.ts` reads the environment and listens.
 */
import { randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import Database from 'better-sqlite3';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import {
  APPLIED_HEADER,
  headroomCompression,
  providerErrorBody,
  type CompressFunction,
  type HeadroomMiddleware,
  type HeadroomOptions,
  type HeadroomResult,
  type Logger,
} from 'express-headroom';
import { KeyError, KeyStore, keyResponse, type VirtualKey } from './keys';
import { MAX_ECHO_CHARS, MAX_MODEL_CHARS, clip } from './limits';
import { singleQuery } from './query';
import { createMetrics, type GatewayMetrics } from './metrics';
import { modelAllowed, providerHint, resolveRoute, stripControlFields, SUPPORTED_ROUTES, type Provider, type Route, pathOf } from './routing';
import { SpendLog, headroomColumns, type SpendEntry } from './spend';
import { createUi } from './ui';

/** Headroom options the gateway passes through (the rest it sets itself). */
export type GatewayHeadroomOptions = Omit<HeadroomOptions, 'apiBase' | 'apiKey' | 'compressor' | 'defaultOn' | 'enabledFor' | 'logger'>;

export interface GatewayConfig {
  /** Guards /key/* and /spend/logs (`Authorization: Bearer <masterKey>`); also accepted as an unrestricted key on /v1, as in LiteLLM. */
  masterKey: string;
  /** SQLite file for keys and spend logs; `':memory:'` for a throwaway one. */
  databasePath: string;
  /** Default `https://api.anthropic.com`. */
  anthropicUpstream?: string;
  /** Default `https://api.openai.com`. */
  openaiUpstream?: string;
  /** Sent upstream as `x-api-key`. Unset: forwarded with no provider credentials. */
  anthropicApiKey?: string;
  /** Sent upstream as `Authorization: Bearer …`. Unset: forwarded with no provider credentials. */
  openaiApiKey?: string;
  /** A Headroom service. Unset: `compressor` compresses in-process. */
  headroomApiBase?: string;
  headroomApiKey?: string;
  /** The in-process compressor (the package's `compress`), used when `headroomApiBase` is unset. */
  compressor?: CompressFunction;
  /** Compress every eligible request without opt-in (HEADROOM_DEFAULT_ON). Default false. */
  defaultOn?: boolean;
  /** More middleware options (minTokens, unreachableFallback, timeoutMs, …). */
  headroom?: GatewayHeadroomOptions;
  /** Largest request body accepted. Default `'64mb'` (Claude Code sessions pass express.json's 100 KB default within a few turns). */
  bodyLimit?: string;
  /** pino-compatible. Default: warnings and errors to the console. */
  logger?: Logger;
}

export interface Gateway {
  app: express.Express;
  db: Database.Database;
  keys: KeyStore;
  spend: SpendLog;
  metrics: GatewayMetrics;
  headroom: HeadroomMiddleware;
  /** Where compression happens: in-process or at `headroomApiBase`. */
  compression: 'embedded' | 'service';
  close(): Promise<void>;
}

/** Per-request state, in `res.locals.gateway`. */
interface RequestState {
  id: string;
  receivedAt: number;
  t0: number;
  method: string;
  path: string;
  route?: Route;
  key?: VirtualKey;
  master?: boolean;
  model?: string;
  stream: boolean;
  error?: string;
  requestBytes: number | null;
  forwardedBytes: number | null;
  upstreamStartedAt: number | null;
  upstreamFirstByteAt: number | null;
  upstreamEndedAt: number | null;
  upstreamStatus: number | null;
}

const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (obj, msg) => console.warn(`[gateway] ${msg ?? ''}`, JSON.stringify(obj)),
  error: (obj, msg) => console.error(`[gateway] ${msg ?? ''}`, JSON.stringify(obj)),
};

const DEFAULT_GUARDRAIL = 'headroom-compression';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `application/json` and `application/*+json`, as the middleware reads them. */
function isJsonRequest(req: IncomingMessage): boolean {
  const value = req.headers['content-type'];
  if (!value) return false;
  const type = value.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The keys a client presented: `Authorization: Bearer <key>` and/or `x-api-key: <key>`. */
function presentedKeys(req: IncomingMessage): string[] {
  const out: string[] = [];
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) out.push(m[1].trim());
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) out.push(x.trim());
  return out;
}

function stateOf(req: IncomingMessage): RequestState | undefined {
  return ((req as Request).res as Response | undefined)?.locals?.gateway as RequestState | undefined;
}

export function createGateway(config: GatewayConfig): Gateway {
  if (!config.masterKey) throw new Error('createGateway: masterKey is required (it guards /key/* and /spend/logs)');
  if (!config.headroomApiBase && !config.compressor) {
    throw new Error('createGateway: pass headroomApiBase (a Headroom service) or compressor (the package\'s compress, in-process)');
  }
  const logger = config.logger ?? consoleLogger;
  const masterDigest = digest(config.masterKey);
  const isMaster = (k: string) => timingSafeEqual(digest(k), masterDigest);
  const guardrailName = config.headroom?.guardrailName ?? DEFAULT_GUARDRAIL;

  // First: it validates its options and throws before anything is opened.
  const headroom = headroomCompression({
    ...(config.headroom ?? {}),
    ...(config.headroomApiBase ? { apiBase: config.headroomApiBase, ...(config.headroomApiKey ? { apiKey: config.headroomApiKey } : {}) } : { compressor: config.compressor }),
    defaultOn: config.defaultOn ?? false,
    // The key's guardrails attach compression to everything the key sends (LiteLLM's per-key guardrails).
    enabledFor: (req) => stateOf(req)?.key?.guardrails.includes(guardrailName) === true,
    logger,
  });

  const db = new Database(config.databasePath);
  if (config.databasePath !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  const keys = new KeyStore(db);
  const spend = new SpendLog(db);
  const metrics = createMetrics();
  let closed = false;

  // One keep-alive pool per gateway, destroyed on close (the global agent would outlive it).
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  const app = express();
  app.disable('x-powered-by');

  // ---- helpers -------------------------------------------------------------------------------

  function providerError(req: Request, res: Response, status: number, error: string, message: string, code?: string): void {
    const st = res.locals.gateway as RequestState | undefined;
    if (st) st.error = error;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const provider = st?.route?.provider ?? providerHint(pathOf(req.originalUrl), req.headers);
    res.status(status).json(providerErrorBody(provider, status, message, code ?? error));
  }

  /** Admin endpoints answer in OpenAI's error shape, as LiteLLM's do. */
  function adminError(res: Response, status: number, message: string, code: string): void {
    res.status(status).json(providerErrorBody('openai', status, message, code));
  }

  function requireMaster(req: Request, res: Response, next: NextFunction): void {
    if (presentedKeys(req).some(isMaster)) return next();
    adminError(res, 401, 'this endpoint requires the master key: Authorization: Bearer $MASTER_KEY', 'invalid_master_key');
  }

  function record(req: Request, res: Response, st: RequestState): void {
    if (closed) return;
    const h = res.locals.headroom as HeadroomResult | undefined;
    const finished = res.writableFinished;
    if (!finished && !st.error) st.error = 'client_closed';
    const applied = res.getHeader(APPLIED_HEADER);
    const entry: SpendEntry = {
      request_id: st.id,
      key_token: st.master ? 'master' : (st.key?.token ?? null),
      key_alias: st.key?.key_alias ?? null,
      provider: st.route?.provider ?? null,
      method: st.method,
      path: st.path,
      model: st.model ?? null,
      stream: st.stream,
      status: res.headersSent ? res.statusCode : 499,
      error: st.error ?? null,
      request_bytes: st.requestBytes,
      forwarded_bytes: st.forwardedBytes,
      latency_ms: Math.round((performance.now() - st.t0) * 100) / 100,
      received_at: st.receivedAt,
      ended_at: Date.now(),
      upstream_started_at: st.upstreamStartedAt,
      upstream_first_byte_at: st.upstreamFirstByteAt,
      upstream_ended_at: st.upstreamEndedAt,
      upstream_status: st.upstreamStatus,
      applied_guardrails: applied === undefined ? null : String(applied),
      ...headroomColumns(h),
    };
    try {
      spend.insert(entry);
      metrics.observe(entry);
    } catch (err) {
      logger.error({ err: (err as Error)?.message, request_id: st.id }, 'spend log write failed');
    }
  }

  // ---- the /v1 chain -------------------------------------------------------------------------

  function begin(req: Request, res: Response, next: NextFunction): void {
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
    res.once('close', () => record(req, res, st));
    dropExpect(req);
    next();
  }

  /**
   * http-proxy emits `proxyReq` only when the outgoing request has no `expect` header (its
   * web-incoming pass: `if (server && !proxyReq.getHeader('expect'))`), and it copies the client's
   * headers. A client sending `Expect: 100-continue` (curl does for bodies over 1 MB) would skip the
   * proxyReq hook: no provider key, the bypass header forwarded, and a parsed JSON body never
   * written (the upstream waits for it forever). Node's server has already answered `100 Continue`
   * before express runs (no checkContinue listener), so the header has done its job: drop it.
   * (express-headroom drops it too when it replays a body it read, but a GET, or a request it never
   * reads, goes past it: the gateway does not rely on that.)
   */
  function dropExpect(req: Request): void {
    delete req.headers.expect;
  }

  function route(req: Request, res: Response, next: NextFunction): void {
    const r = resolveRoute(req.method, req.originalUrl, req.headers);
    if (!r) {
      // The path is the client's: quoted back capped.
      const path = clip(pathOf(req.originalUrl), MAX_ECHO_CHARS);
      return providerError(req, res, 404, 'route_not_found', `${req.method} ${path} is not forwarded by this gateway. It forwards: ${SUPPORTED_ROUTES.join(', ')}`);
    }
    (res.locals.gateway as RequestState).route = r;
    next();
  }

  /** Header-only, so an unauthenticated client never gets its body read. */
  function authenticate(req: Request, res: Response, next: NextFunction): void {
    const st = res.locals.gateway as RequestState;
    const presented = presentedKeys(req);
    for (const k of presented) {
      if (isMaster(k)) {
        st.master = true;
        break;
      }
      const key = keys.lookup(k);
      if (key) {
        st.key = key;
        break;
      }
    }
    if (!st.master && !st.key) {
      const message = presented.length
        ? 'invalid API key: not a key of this gateway (send a virtual key from POST /key/generate)'
        : 'missing API key: send Authorization: Bearer <virtual key> or x-api-key: <virtual key>';
      return providerError(req, res, 401, 'unauthorized', message, 'invalid_api_key');
    }
    // The client's own credentials never go upstream.
    delete req.headers.authorization;
    delete req.headers['x-api-key'];
    next();
  }

  // verifyJson: the middleware's shape limits (depth, messages, values) before express.json parses, so no
  // body holds the event loop for a parse it could not afford (a million tiny messages, 10,000 levels).
  const parseJson = express.json({ limit: config.bodyLimit ?? '64mb', type: isJsonRequest, verify: headroom.verifyJson });

  function checkModel(req: Request, res: Response, next: NextFunction): void {
    const st = res.locals.gateway as RequestState;
    if (!st.route?.hasModel) return next();
    if (!isObject(req.body)) {
      return providerError(req, res, 400, 'invalid_request', 'request body must be a JSON object sent with Content-Type: application/json', 'invalid_request_error');
    }
    const model = typeof req.body.model === 'string' ? req.body.model : undefined;
    st.model = model;
    st.stream = req.body.stream === true;
    const allowed = st.key?.models ?? [];
    const restricted = st.key !== undefined && allowed.length > 0;
    // No real model id is this long; a key with an allow-list refuses it rather than matching it. An
    // unrestricted key forwards it (the provider decides); the spend log stores it capped (spend.ts).
    if (restricted && model !== undefined && model.length > MAX_MODEL_CHARS) {
      return providerError(req, res, 400, 'model_name_too_long', `model name is ${model.length} characters; this gateway accepts at most ${MAX_MODEL_CHARS}`, 'model_name_too_long');
    }
    if (restricted && (model === undefined || !modelAllowed(allowed, model))) {
      return providerError(
        req,
        res,
        403,
        'model_not_allowed',
        `this key may not use model ${model === undefined ? '(none given)' : `"${model}"`}; allowed: ${allowed.join(', ')}`,
        'model_not_allowed',
      );
    }
    next();
  }

  function proxyFor(provider: Provider, target: string, apiKey: string | undefined) {
    return createProxyMiddleware<Request, Response>({
      target,
      changeOrigin: true,
      agent: target.startsWith('https:') ? agents.https : agents.http,
      on: {
        proxyReq: (proxyReq, req) => {
          const st = stateOf(req);
          proxyReq.removeHeader('authorization');
          proxyReq.removeHeader('x-api-key');
          proxyReq.removeHeader('x-headroom-bypass');
          if (provider === 'anthropic') {
            if (apiKey) proxyReq.setHeader('x-api-key', apiKey);
            if (proxyReq.getHeader('anthropic-version') === undefined) proxyReq.setHeader('anthropic-version', '2023-06-01');
          } else if (apiKey) {
            proxyReq.setHeader('authorization', `Bearer ${apiKey}`);
          }
          // express.json consumed the stream: write the (possibly compressed) body from req.body.
          if (isObject(req.body)) stripControlFields(req.body);
          fixRequestBody(proxyReq, req);
          if (st) {
            const len = proxyReq.getHeader('content-length');
            st.forwardedBytes = len === undefined ? null : Number(len);
            st.upstreamStartedAt = Date.now();
          }
        },
        proxyRes: (proxyRes, req) => {
          const st = stateOf(req);
          if (!st) return;
          st.upstreamFirstByteAt = Date.now();
          st.upstreamStatus = proxyRes.statusCode ?? null;
          proxyRes.once('end', () => (st.upstreamEndedAt = Date.now()));
        },
        error: (err, req, res) => {
          const st = stateOf(req);
          logger.warn({ err: (err as NodeJS.ErrnoException).code ?? err.message, provider, request_id: st?.id }, 'upstream call failed');
          if (!('writeHead' in res)) return void res.destroy();
          if (st?.upstreamStartedAt && !st.upstreamEndedAt) st.upstreamEndedAt = Date.now();
          providerError(req as Request, res as Response, 502, 'upstream_unreachable', `the ${provider} upstream could not be reached: ${(err as NodeJS.ErrnoException).code ?? err.message}`, 'upstream_unreachable');
        },
      },
    });
  }

  const proxies: Record<Provider, ReturnType<typeof proxyFor>> = {
    anthropic: proxyFor('anthropic', config.anthropicUpstream ?? 'https://api.anthropic.com', config.anthropicApiKey),
    openai: proxyFor('openai', config.openaiUpstream ?? 'https://api.openai.com', config.openaiApiKey),
  };

  function forward(req: Request, res: Response, next: NextFunction): void {
    const st = res.locals.gateway as RequestState;
    // The middleware has read it by now; http-proxy copies req.headers, so deleting it here keeps it
    // from the upstream even if the proxyReq hook (which removes it too) were ever skipped.
    delete req.headers['x-headroom-bypass'];
    void proxies[st.route!.provider](req, res, next);
  }

  function v1Errors(err: unknown, req: Request, res: Response, _next: NextFunction): void {
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'request.aborted') return void res.destroy();
    if (e?.type === 'entity.too.complex') return providerError(req, res, e.status ?? 413, 'request_too_complex', e.message ?? 'request body is past the gateway\'s shape limits', 'request_too_complex');
    if (e?.type === 'entity.too.large') return providerError(req, res, 413, 'request_too_large', `request body exceeds the gateway's limit of ${config.bodyLimit ?? '64mb'}`, 'request_too_large');
    // body-parser's messages may quote the client's body or headers: capped.
    if (e?.type === 'entity.parse.failed') return providerError(req, res, 400, 'invalid_request', `request body is not valid JSON: ${clip(String(e.message), MAX_ECHO_CHARS)}`, 'invalid_json');
    if (e?.status && e.status >= 400 && e.status < 500) return providerError(req, res, e.status, 'invalid_request', clip(e.message ?? 'bad request', MAX_ECHO_CHARS));
    logger.error({ err: e?.message ?? String(err), request_id: (res.locals.gateway as RequestState | undefined)?.id }, 'gateway error');
    providerError(req, res, 500, 'internal_error', 'internal gateway error');
  }

  const v1 = express.Router();
  v1.use(begin, route, authenticate, parseJson, checkModel, headroom, forward);
  v1.use(v1Errors);

  // ---- endpoints -----------------------------------------------------------------------------

  const compression = config.headroomApiBase ? 'service' : 'embedded';

  // Claude Code probes the base URL with HEAD / at start.
  app.get('/', (_req, res) => void res.json({ name: 'express-headroom gateway', compression }));
  app.get('/health', (_req, res) => void res.json({ status: 'healthy', compression, headroom: headroom.stats() }));
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });

  const adminJson = express.json({ limit: '1mb' });
  const adminRoute = (handler: (body: unknown) => object) => (req: Request, res: Response) => {
    try {
      res.json(handler(req.body));
    } catch (err) {
      if (err instanceof KeyError) return adminError(res, err.status, err.message, err.status === 404 ? 'key_not_found' : 'invalid_request');
      throw err;
    }
  };
  app.post(
    '/key/generate',
    requireMaster,
    adminJson,
    adminRoute((body) => {
      const { key, record } = keys.generate(body);
      return keyResponse(record, key);
    }),
  );
  app.post(
    '/key/update',
    requireMaster,
    adminJson,
    adminRoute((body) => keyResponse(keys.update(body), (body as { key: string }).key)),
  );
  // LiteLLM's: `{"keys": [...]}` → `{"deleted_keys": [...]}`. The next request with a deleted key gets 401 (lookups read SQLite each time).
  app.post(
    '/key/delete',
    requireMaster,
    adminJson,
    adminRoute((body) => ({ deleted_keys: keys.delete(body) })),
  );
  app.get('/spend/logs', requireMaster, (req, res) => {
    const q = singleQuery(req.query, ['limit', 'key_alias', 'request_id']);
    if (typeof q === 'string') return adminError(res, 400, q, 'invalid_request');
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return adminError(res, 400, 'limit must be an integer from 1 to 1000', 'invalid_request');
    res.json(spend.list({ limit, key_alias: q.key_alias, request_id: q.request_id }));
  });

  // The admin UI (Logs, one request's lifecycle and headroom evaluation); master key, see ui/index.ts.
  app.use('/ui', createUi({ spend, masterKey: config.masterKey, compression }));

  app.use((req, res, next) => {
    const p = req.path;
    if (p === '/v1' || p.startsWith('/v1/')) return v1(req, res, next);
    next();
  });

  app.use((req, res) => adminError(res, 404, `${req.method} ${clip(req.path, MAX_ECHO_CHARS)} not found`, 'not_found'));
  app.use((err: { type?: string; status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err?.type === 'entity.parse.failed') return adminError(res, 400, `request body is not valid JSON: ${clip(String(err.message), MAX_ECHO_CHARS)}`, 'invalid_json');
    if (err?.status && err.status >= 400 && err.status < 500) return adminError(res, err.status, clip(err.message ?? 'bad request', MAX_ECHO_CHARS), 'invalid_request');
    logger.error({ err: err?.message ?? String(err) }, 'gateway error');
    adminError(res, 500, 'internal gateway error', 'internal_error');
  });

  return {
    app,
    db,
    keys,
    spend,
    metrics,
    headroom,
    compression,
    async close() {
      if (closed) return;
      closed = true;
      await headroom.close();
      agents.http.destroy();
      agents.https.destroy();
      db.close();
    },
  };
}
