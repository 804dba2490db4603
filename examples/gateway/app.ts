/**
 * The gateway: express-headroom used exactly as a user imports it, in front of
 * http-proxy-middleware, with what a platform team rolling compression out to Claude Code needs:
 * provider routing with the provider key injected, LiteLLM-style virtual keys, a spend log in
 * SQLite, Prometheus metrics.
 *
 * This file only composes: it builds the pieces and mounts them. Each piece lives with its concern
 * (see the README's "Layout"): types.ts (config, Gateway), request-state.ts (per-request state,
 * `begin`), auth.ts (keys, model allow-list), proxy.ts (`route`, the provider proxies, `forward`),
 * record.ts (spend-log row), admin.ts (/key/*, /spend/logs, /health, /metrics), errors.ts.
 *
 * `createGateway(config)` builds it from a plain object (no globals, nothing read from the
 * environment); `server.ts` reads the environment and listens.
 */
import type { IncomingMessage } from 'node:http';
import Database from 'better-sqlite3';
import express, { type RequestHandler } from 'express';
import { headroomCompression, type HeadroomMiddleware, type Logger } from 'express-headroom';
import { mountAdmin } from './admin';
import { authenticate, checkModel, masterKeyCheck, requireMaster } from './auth';
import { adminErrors, adminNotFound, v1Errors } from './errors';
import { KeyStore } from './keys';
import { createMetrics } from './metrics';
import { createUpstreams, route } from './proxy';
import { recorder } from './record';
import { begin, stateOf } from './request-state';
import { SpendLog } from './spend';
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
  const headroom = compressionFor(config, logger);
  const db = openDatabase(config.databasePath);
  const keys = new KeyStore(db);
  const spend = new SpendLog(db);
  const metrics = createMetrics();
  const upstreams = createUpstreams(config, logger);
  const isMaster = masterKeyCheck(config.masterKey);
  let closed = false;

  // One /v1 request, top to bottom; any step may answer (status in brackets) instead of passing on.
  const v1 = express.Router();
  v1.use(
    begin(recorder({ spend, metrics, logger, isClosed: () => closed })), // id, clock, spend-log row on close; Expect dropped
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
  mountAdmin(app, { keys, spend, metrics, headroom, compression, requireMaster: requireMaster(isMaster) });
  // The admin UI (Logs, one request's lifecycle and headroom evaluation); master key, see ui/index.ts.
  app.use('/ui', createUi({ spend, masterKey: config.masterKey, compression }));
  app.use(under('/v1', v1));
  app.use(adminNotFound);
  app.use(adminErrors(logger));

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
      upstreams.close();
      db.close();
    },
  };
}

/** The middleware as the gateway runs it: a key's guardrails decide whom it compresses for. */
function compressionFor(config: GatewayConfig, logger: Logger): HeadroomMiddleware {
  const guardrailName = config.headroom?.guardrailName ?? DEFAULT_GUARDRAIL;
  return headroomCompression({
    ...(config.headroom ?? {}),
    ...(config.headroomApiBase ? { apiBase: config.headroomApiBase, ...(config.headroomApiKey ? { apiKey: config.headroomApiKey } : {}) } : { compressor: config.compressor }),
    defaultOn: config.defaultOn ?? false,
    // The key's guardrails attach compression to everything the key sends (LiteLLM's per-key guardrails).
    enabledFor: (req) => stateOf(req)?.key?.guardrails.includes(guardrailName) === true,
    logger,
  });
}

function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  // WAL: a reader of the file (/ui, a sqlite3 shell) does not block the per-request spend-log writes.
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  // Wait for a lock held by another connection instead of failing the write at once.
  db.pragma('busy_timeout = 5000');
  return db;
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
