/**
 * The gateway's own endpoints, LiteLLM's where LiteLLM has one: virtual keys (/key/*) and the
 * spend log behind the master key; /health, /metrics and / open. (/ui is ui/index.ts.)
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { HeadroomMiddleware } from 'express-headroom';
import { adminError } from './errors';
import { KeyError, KeyStore, keyResponse } from './keys';
import type { GatewayMetrics } from './metrics';
import { singleQuery } from './query';
import type { SpendLog } from './spend';

export interface AdminOptions {
  keys: KeyStore;
  spend: SpendLog;
  metrics: GatewayMetrics;
  headroom: HeadroomMiddleware;
  compression: 'embedded' | 'service';
  /** Which store keys and the spend log are in (`/health` says so). */
  storeKind: 'sqlite' | 'postgres';
  /** Spend-log rows waiting to be written (`/health` shows the backlog). */
  spendBuffered(): number;
  /** auth.ts's master-key guard. */
  requireMaster: RequestHandler;
}

/**
 * Registered on the app itself, not on an express.Router: a Router that runs out of handlers for
 * OPTIONS answers it (200, `Allow: POST`), where the gateway answers 404 for anything it does not serve.
 */
export function mountAdmin(app: express.Express, opts: AdminOptions): void {
  openRoutes(app, opts);
  keyRoutes(app, opts);
  app.get('/spend/logs', opts.requireMaster, spendLogs(opts.spend));
}

function openRoutes(app: express.Express, { compression, headroom, metrics, storeKind, spendBuffered }: AdminOptions): void {
  // Claude Code probes the base URL with HEAD / at start.
  app.get('/', (_req, res) => void res.json({ name: 'express-headroom gateway', compression }));
  app.get('/health', (_req, res) => void res.json({ status: 'healthy', compression, store: storeKind, spend_buffered: spendBuffered(), headroom: headroom.stats() }));
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });
}

function keyRoutes(app: express.Express, { keys, requireMaster }: AdminOptions): void {
  // Key bodies are a few fields; the /v1 limit (tens of MB) has no business here.
  const adminJson = express.json({ limit: '1mb' });
  app.post(
    '/key/generate',
    requireMaster,
    adminJson,
    keyHandler(async (body) => {
      const { key, record } = await keys.generate(body);
      return keyResponse(record, key);
    }),
  );
  app.post(
    '/key/update',
    requireMaster,
    adminJson,
    keyHandler(async (body) => keyResponse(await keys.update(body), (body as { key: string }).key)),
  );
  // LiteLLM's: `{"keys": [...]}` → `{"deleted_keys": [...]}`. The next request with a deleted key gets 401 (lookups read the store each time, on every instance).
  app.post(
    '/key/delete',
    requireMaster,
    adminJson,
    keyHandler(async (body) => ({ deleted_keys: await keys.delete(body) })),
  );
}

/** A KeyStore call as an endpoint: its KeyError becomes the admin error (404 for an unknown key, else 400). */
function keyHandler(handler: (body: unknown) => Promise<object>) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      res.json(await handler(req.body));
    } catch (err) {
      if (err instanceof KeyError) return adminError(res, err.status, err.message, err.status === 404 ? 'key_not_found' : 'invalid_request');
      throw err;
    }
  };
}

/** `GET /spend/logs`: newest first; each filter at most once (a repeated one is a 400, not ignored). */
function spendLogs(spend: SpendLog): RequestHandler {
  return async (req, res) => {
    const q = singleQuery(req.query, ['limit', 'key_alias', 'request_id']);
    if (typeof q === 'string') return adminError(res, 400, q, 'invalid_request');
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return adminError(res, 400, 'limit must be an integer from 1 to 1000', 'invalid_request');
    res.json(await spend.list({ limit, key_alias: q.key_alias, request_id: q.request_id }));
  };
}
