/**
 * What `createGateway` takes and gives back. Apart from app.ts so config.ts (environment → config)
 * and the other modules can name them without importing the composition; app.ts re-exports them.
 */
import type express from 'express';
import type { CompressFunction, HeadroomMiddleware, HeadroomMode, HeadroomOptions, HeadroomRetrieval, Logger } from 'express-headroom';
import type { Db } from './db';
import type { KeyStore } from './keys';
import type { GatewayMetrics } from './metrics';
import type { SpendLog } from './spend';
import type { SpendBuffer } from './spend-buffer';

/**
 * Headroom options the gateway passes through (the rest it sets itself). `mode` is the default of
 * keys that set no `metadata.headroom_mode` (and of the master key); `retrievalStore` replaces the
 * store the gateway would pick (Redis with `redisUrl`, else in-process), for the middleware and
 * the retrieval routes alike.
 */
export type GatewayHeadroomOptions = Omit<HeadroomOptions, 'apiBase' | 'apiKey' | 'compressor' | 'defaultOn' | 'enabledFor' | 'logger' | 'mode' | 'retrievalOwner'> & {
  mode?: HeadroomMode;
};

export interface GatewayConfig {
  /** Guards /key/* and /spend/logs (`Authorization: Bearer <masterKey>`); also accepted as an unrestricted key on /v1, as in LiteLLM. */
  masterKey: string;
  /** SQLite file for keys and spend logs; `':memory:'` for a throwaway one. Unused when `databaseUrl` is set. */
  databasePath: string;
  /** `postgres://…`: keys and spend logs in Postgres (several gateway instances share it). Wins over `databasePath`. */
  databaseUrl?: string;
  /**
   * `redis://…`: the middleware's memo (RedisMemoStore), so every instance forwards the same bytes for
   * a tool output, and the originals behind retrieval markers (RedisRetrievalStore), so every instance
   * serves what any one compressed.
   */
  redisUrl?: string;
  /** The spend log's write buffer (spend-buffer.ts): flush interval (default 50 ms), batch (200 rows), bound (10,000 rows). */
  spendBuffer?: { flushMs?: number; batchRows?: number; maxRows?: number };
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
  /** The store (db.ts): SQLite or Postgres behind one async interface. */
  db: Db;
  /** Resolves once the schema is migrated (requests wait for it); rejects when the store cannot be reached or migrated. */
  ready: Promise<void>;
  /** `sqlite ./gateway.db` or `postgres host:port/db`: what the start-up line says. */
  store: string;
  keys: KeyStore;
  spend: SpendLog;
  /** Where finished requests' rows wait to be written. */
  spendBuffer: SpendBuffer;
  metrics: GatewayMetrics;
  headroom: HeadroomMiddleware;
  /** `/mcp` and `/v1/retrieve`: the originals behind `hash=` markers, over the middleware's store. */
  retrieval: HeadroomRetrieval;
  /** Where compression happens: in-process or at `headroomApiBase`. */
  compression: 'embedded' | 'service';
  /** Flushes the spend log (up to `flushTimeoutMs`, default 5 s), then closes the store, Redis and the middleware. */
  close(opts?: { flushTimeoutMs?: number }): Promise<void>;
}
