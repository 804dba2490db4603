/**
 * Reversible compression in the gateway: the originals behind `hash=` markers, served back by the
 * gateway itself at `/mcp` (the `headroom_retrieve` tool) and `/v1/retrieve` (REST), never proxied.
 *
 * Retrieval is per key. What a virtual key's request compressed is kept under that key's owner id
 * (`key:<token>`, the SHA-256 the key store keeps, never the key itself); only that key, or the
 * master key, reads it back. Any other key gets the same 404 as an unknown hash, so a key cannot
 * learn that another key's tool output exists, let alone read it (tool output holds customer data,
 * file contents and secrets as often as anything else).
 */
import type { NextFunction, Request, Response } from 'express';
import {
  LruRetrievalStore,
  RedisRetrievalStore,
  headroomRetrieval,
  type HeadroomMode,
  type HeadroomRetrieval,
  type Logger,
  type RetrievalAccess,
  type RetrievalStore,
} from 'express-headroom';
import type Redis from 'ioredis';
import { presentedKeys, type MasterKeyCheck } from './auth';
import { adminError } from './errors';
import { keyMode, type KeyStore, type VirtualKey } from './keys';
import type { GatewayConfig } from './types';

/** Where the router answers; both are outside the `/v1` proxy routing (app.ts mounts it first). */
export const MCP_PATH = '/mcp';
export const RETRIEVE_PATH = '/v1/retrieve';

/** The owner of what master-key requests compressed: read back with the master key only. */
export const MASTER_OWNER = 'master';

/** A virtual key's owner id: its stored token (SHA-256 of the key), prefixed so it can never equal {@link MASTER_OWNER}. */
export function ownerOf(key: Pick<VirtualKey, 'token'>): string {
  return `key:${key.token}`;
}

/** The store both the middleware and the router use: the caller's, else Redis when the gateway has it (a fleet shares it), else in-process. */
export function retrievalStoreFor(config: GatewayConfig, redis: Redis | undefined): RetrievalStore {
  if (config.headroom?.retrievalStore) return config.headroom.retrievalStore;
  if (redis) return new RedisRetrievalStore(redis);
  return new LruRetrievalStore();
}

/** The middleware's `retrievalOwner`: the key that sent the request, or the master key. */
export function requestOwner(_req: Request, res: Response): string | undefined {
  const st = res.locals.gateway as { key?: VirtualKey; master?: boolean } | undefined;
  if (st?.key) return ownerOf(st.key);
  return st?.master ? MASTER_OWNER : undefined;
}

/** The middleware's `mode`: the key's `metadata.headroom_mode`, else the gateway's default. */
export function modeFor(fallback: HeadroomMode): (req: Request) => HeadroomMode {
  return (req) => {
    const st = (req.res as Response | undefined)?.locals?.gateway as { key?: VirtualKey } | undefined;
    return (st?.key && keyMode(st.key)) || fallback;
  };
}

function isRetrievalPath(path: string): boolean {
  return path === MCP_PATH || path === RETRIEVE_PATH || path.startsWith(`${RETRIEVE_PATH}/`);
}

/**
 * Who is asking, decided before the router runs: the master key reads everything, a virtual key its
 * own originals, anything else nothing (the router answers 401). Here rather than in `authorize` so
 * that an unreachable key store is a 503 the client may retry, as on /v1, not the router's 500.
 */
function resolveCaller(keys: KeyStore, isMaster: MasterKeyCheck) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isRetrievalPath(req.path)) return next();
    void (async () => {
      for (const k of presentedKeys(req)) {
        if (isMaster(k)) return { all: true } as const;
        const key = await keys.lookup(k);
        if (key) return { owner: ownerOf(key) };
      }
      return undefined;
    })().then(
      (access: RetrievalAccess | undefined) => {
        res.locals.retrievalAccess = access;
        next();
      },
      () => adminError(res, 503, 'the key store (database) is unreachable; retry shortly', 'key_store_unavailable'),
    );
  };
}

export interface RetrievalMount {
  /** The handlers to mount, in order, before the `/v1` routing. */
  handlers: Array<(req: Request, res: Response, next: NextFunction) => void>;
  router: HeadroomRetrieval;
}

/** The router over `store`, asking the Headroom service for its own hashes when one is configured. */
export function createRetrieval(config: GatewayConfig, store: RetrievalStore, keys: KeyStore, isMaster: MasterKeyCheck, logger: Logger): RetrievalMount {
  const router = headroomRetrieval({
    store,
    authorize: (req) => (req.res as Response).locals.retrievalAccess as RetrievalAccess | undefined,
    ...(config.headroomApiBase ? { apiBase: config.headroomApiBase, ...(config.headroomApiKey ? { apiKey: config.headroomApiKey } : {}) } : {}),
    retrievePath: RETRIEVE_PATH,
    mcpPath: MCP_PATH,
    logger,
  });
  return { handlers: [resolveCaller(keys, isMaster), router], router };
}
