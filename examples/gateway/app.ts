/**
 * The gateway: express-headroom used exactly as a user imports it, in front of
 * http-proxy-middleware, with what a platform team rolling compression out to Claude Code needs:
 * provider routing with the provider key injected, LiteLLM-style virtual keys, a spend log in
 * SQLite or Postgres (db.ts; several instances share Postgres and Redis), Prometheus metrics.
 *
 * This file only composes: it builds the pieces and mounts them. Each piece lives with its concern
 * (see the README's "Layout"): types.ts (config, Gateway), request-state.ts (per-request state,
 * `begin`), auth.ts (keys, model allow-list), proxy.ts (`route`, the provider proxies, `forward`),
 * record.ts (spend-log row), admin.ts (/key/*, /spend/logs, /health, /metrics), retrieval.ts
 * (/mcp and /v1/retrieve: the originals behind `hash=` markers, per key), errors.ts.
 *
 * `createGateway(config)` builds it from a plain object (no globals, nothing read from the
 * environment); `server.ts` reads the environment and listens.
 */
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { RedisMemoStore, headroomCompression, type HeadroomMiddleware, type Logger, type RetrievalStore } from 'express-headroom';
import type Redis from 'ioredis';
import { mountAdmin } from './admin';
import { authenticate, checkModel, masterKeyCheck, requireMaster } from './auth';
import { migrate, openDb } from './db';
import { adminErrors, adminNotFound, v1Errors } from './errors';
import { KEYS_MIGRATION, KeyStore } from './keys';
import { createMetrics } from './metrics';
import { createUpstreams, route } from './proxy';
import { recorder } from './record';
import { begin, stateOf } from './request-state';
import { createRetrieval, modeFor, requestOwner, retrievalStoreFor } from './retrieval';
import { SPEND_MIGRATION, SpendLog } from './spend';
import { SpendBuffer } from './spend-buffer';
import type { Gateway, GatewayConfig } from './types';
import { createUi } from './ui';

export type { Gateway, GatewayConfig, GatewayHeadroomOptions } from './types';

const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (obj, msg) => console.warn(`[gateway] ${msg ?? ''}`, JSON.stringify(obj)),
  error: (obj, msg) => console.error(`[gateway] ${msg ?? ''}`, JSON.stringify(obj)),
};

const DEFAULT_GUARDRAIL = 'headroom-compression';

export function createGateway(config: GatewayConfig): Gateway {
  if (!config.masterKey) throw new Error('createGateway: masterKey is required (it guards /key/* and /spend/logs)');
  if (!config.headroomApiBase && !config.compressor) {
    throw new Error("createGateway: pass headroomApiBase (a Headroom service) or compressor (the package's compress, in-process)");
  }
  const logger = config.logger ?? consoleLogger;
  const bodyLimit = config.bodyLimit ?? '64mb';
  const compression = config.headroomApiBase ? 'service' : 'embedded';
  // First: it validates its options and throws before anything is opened.
  const redis = config.redisUrl ? openRedis(config.redisUrl, logger) : undefined;
  const store = retrievalStoreFor(config, redis);
  const headroom = compressionFor(config, logger, redis, store);
  const db = openDb({ url: config.databaseUrl, path: config.databasePath });
  // The schema, versioned, before the first request touches it (requests wait below).
  const ready = migrate(db, [KEYS_MIGRATION, SPEND_MIGRATION]).then(() => undefined);
  ready.catch((err) => logger.error({ err: (err as Error)?.message, store: db.description }, 'database migration failed'));
  const keys = new KeyStore(db);
  const spend = new SpendLog(db);
  const metrics = createMetrics();
  const spendBuffer = new SpendBuffer(spend, {
    ...config.spendBuffer,
    logger,
    onDrop: (n) => metrics.spendRowsDropped.inc(n),
    onBuffered: (n) => metrics.spendRowsBuffered.set(n),
  });
  const upstreams = createUpstreams(config, logger);
  const isMaster = masterKeyCheck(config.masterKey);
  // The same store as the middleware's: what a request compressed is what its key retrieves.
  const retrieval = createRetrieval(config, store, keys, isMaster, logger);
  let closed = false;

  // One /v1 request, top to bottom; any step may answer (status in brackets) instead of passing on.
  const v1 = express.Router();
  v1.use(
    begin(recorder({ spend: spendBuffer, metrics, logger, isClosed: () => closed })), // id, clock, spend-log row on close; Expect dropped
    route, // the provider (404)
    authenticate(keys, isMaster), // master or virtual key (401); the client's key removed
    // verifyJson: the middleware's shape limits (depth, messages, values) before express.json parses, so no
    // body holds the event loop for a parse it could not afford (a million tiny messages, 10,000 levels).
    express.json({ limit: bodyLimit, type: isJsonRequest, verify: headroom.verifyJson }), // (400/413)
    checkModel, // the key's models (400/403)
    headroom, // compression, when the key's guardrails, an opt-in or defaultOn ask for it
    upstreams.forward, // the provider key added, the bypass header removed (502)
  );
  v1.use(v1Errors(logger, bodyLimit));

  const app = express();
  app.disable('x-powered-by');
  // Until the schema is in place, requests wait (a failed migration answers 500 through adminErrors / v1Errors).
  app.use((_req, _res, next) => void ready.then(() => next(), next));
  mountAdmin(app, {
    keys,
    spend,
    metrics,
    headroom,
    compression,
    storeKind: db.dialect,
    spendBuffered: () => spendBuffer.size,
    requireMaster: requireMaster(isMaster),
  });
  // The admin UI (Logs, one request's lifecycle and headroom evaluation); master key, see ui/index.ts.
  app.use('/ui', createUi({ spend, masterKey: config.masterKey, compression }));
  // Before /v1: /v1/retrieve is the gateway's own route, never a provider's.
  app.use(...retrieval.handlers);
  app.use(under('/v1', v1));
  app.use(adminNotFound);
  app.use(adminErrors(logger));

  return {
    app,
    db,
    ready,
    store: db.description,
    keys,
    spend,
    spendBuffer,
    metrics,
    headroom,
    retrieval: retrieval.router,
    compression,
    async close(opts = {}) {
      if (closed) return;
      closed = true;
      await headroom.close();
      await retrieval.router.close();
      upstreams.close();
      // Rows of requests already finished are written before the store closes.
      const left = await ready.then(
        () => spendBuffer.drain(opts.flushTimeoutMs ?? 5000),
        () => spendBuffer.size,
      );
      if (left) logger.error({ rows: left }, 'spend log rows not written at shutdown (database unreachable)');
      await db.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * The middleware as the gateway runs it: a key's guardrails decide whom it compresses for, its
 * `metadata.headroom_mode` whether it compresses or only audits, and the key owns what it keeps.
 */
function compressionFor(config: GatewayConfig, logger: Logger, redis: Redis | undefined, store: RetrievalStore): HeadroomMiddleware {
  const guardrailName = config.headroom?.guardrailName ?? DEFAULT_GUARDRAIL;
  return headroomCompression({
    ...(config.headroom ?? {}),
    mode: modeFor(config.headroom?.mode ?? 'compress'),
    retrievalStore: store,
    retrievalOwner: requestOwner,
    ...(config.headroomApiBase ? { apiBase: config.headroomApiBase, ...(config.headroomApiKey ? { apiKey: config.headroomApiKey } : {}) } : { compressor: config.compressor }),
    // Shared memo: every instance forwards the same compressed bytes for the same tool output (the provider's prompt cache holds across instances).
    ...(redis ? { memoStore: new RedisMemoStore(redis) } : {}),
    defaultOn: config.defaultOn ?? false,
    // The key's guardrails attach compression to everything the key sends (LiteLLM's per-key guardrails).
    enabledFor: (req) => stateOf(req)?.key?.guardrails.includes(guardrailName) === true,
    logger,
  });
}

/**
 * ioredis, failing fast when Redis is away: no offline queue and one retry, so a memo lookup errors at
 * once and the middleware goes on without the shared memo (it bounds each call by memoTimeoutMs too).
 */
function openRedis(url: string, logger: Logger): Redis {
  // Loaded only when used: ioredis is the example gateway's dependency, not every user's.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const IORedis = require('ioredis') as typeof import('ioredis').default;
  const client = new IORedis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 200, 2000), lazyConnect: false });
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: err.message }, 'redis unreachable: no shared memo, and outputs that would carry a retrieval marker go uncompressed, until it returns');
  });
  client.on('ready', () => (down = false));
  return client;
}

/** `application/json` and `application/*+json`, as the middleware reads them. */
function isJsonRequest(req: IncomingMessage): boolean {
  const value = req.headers['content-type'];
  if (!value) return false;
  const type = value.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * `prefix` and the paths below it go to `router`. Not `app.use(prefix, router)`: a mount path is cut
 * from req.url, and http-proxy-middleware forwards req.url (the provider would get /messages).
 */
function under(prefix: string, router: express.Router): RequestHandler {
  return (req, res, next) => {
    const p = req.path;
    if (p === prefix || p.startsWith(`${prefix}/`)) return void router(req, res, next);
    next();
  };
}
