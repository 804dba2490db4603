/**
 * Environment → {@link GatewayConfig}. Kept apart from server.ts so it can be tested without
 * starting anything. Every variable, with its default, is listed in the README's Gateway section.
 */
import type { GatewayConfig, GatewayHeadroomOptions } from './types';

export interface ServerSettings {
  config: Omit<GatewayConfig, 'compressor'>;
  host: string;
  port: number;
  /** SIGTERM: how long in-flight requests and the spend-log flush may take before the process exits anyway. Default 10 s. */
  shutdownTimeoutMs: number;
}

export class EnvError extends Error {}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new EnvError(`${name} must be true or false, got "${value}"`);
}

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value.trim())) throw new EnvError(`${name} must be a whole number, got "${value}"`);
  return Number(value.trim());
}

function url(name: string, value: string | undefined, fallback?: string): string | undefined {
  const v = value === undefined || value === '' ? fallback : value.trim();
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new EnvError(`${name} must be an http(s) URL, got "${v}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EnvError(`${name} must be an http(s) URL, got "${v}"`);
  return v.replace(/\/+$/, '');
}

function storeUrl(name: string, value: string | undefined, protocols: string[], example: string): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new EnvError(`${name} must be a URL like ${example}`);
  }
  if (!protocols.includes(u.protocol)) throw new EnvError(`${name} must be a URL like ${example} (got the scheme "${u.protocol}")`);
  return v;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): ServerSettings {
  const masterKey = env.MASTER_KEY?.trim();
  if (!masterKey) {
    throw new EnvError('MASTER_KEY is not set. It guards /key/generate, /key/update and /spend/logs; e.g. MASTER_KEY=sk-master-$(openssl rand -hex 16) npm run gateway');
  }
  const fallback = env.HEADROOM_UNREACHABLE_FALLBACK?.trim();
  if (fallback !== undefined && fallback !== '' && fallback !== 'fail_open' && fallback !== 'fail_closed') {
    throw new EnvError(`HEADROOM_UNREACHABLE_FALLBACK must be fail_open or fail_closed, got "${fallback}"`);
  }
  const headroom: GatewayHeadroomOptions = {};
  const minTokens = int('HEADROOM_MIN_TOKENS', env.HEADROOM_MIN_TOKENS);
  if (minTokens !== undefined) headroom.minTokens = minTokens;
  const timeoutMs = int('HEADROOM_TIMEOUT_MS', env.HEADROOM_TIMEOUT_MS);
  if (timeoutMs !== undefined) headroom.timeoutMs = timeoutMs;
  if (fallback) headroom.unreachableFallback = fallback as 'fail_open' | 'fail_closed';

  const databaseUrl = storeUrl('DATABASE_URL', env.DATABASE_URL, ['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/gateway');
  const redisUrl = storeUrl('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:'], 'redis://host:6379');
  const shutdownTimeoutMs = int('SHUTDOWN_TIMEOUT_MS', env.SHUTDOWN_TIMEOUT_MS) ?? 10_000;
  const port = int('PORT', env.PORT) ?? 4000;
  if (port > 65535) throw new EnvError(`PORT must be at most 65535, got ${port}`);
  return {
    host: env.HOST?.trim() || '127.0.0.1',
    port,
    shutdownTimeoutMs,
    config: {
      masterKey,
      databasePath: env.DATABASE_PATH?.trim() || './gateway.db',
      // Set: Postgres, whatever DATABASE_PATH says (the start-up line names the store in use).
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(redisUrl ? { redisUrl } : {}),
      anthropicUpstream: url('ANTHROPIC_UPSTREAM', env.ANTHROPIC_UPSTREAM, 'https://api.anthropic.com'),
      openaiUpstream: url('OPENAI_UPSTREAM', env.OPENAI_UPSTREAM, 'https://api.openai.com'),
      anthropicApiKey: env.ANTHROPIC_API_KEY || undefined,
      openaiApiKey: env.OPENAI_API_KEY || undefined,
      headroomApiBase: url('HEADROOM_API_BASE', env.HEADROOM_API_BASE),
      headroomApiKey: env.HEADROOM_API_KEY || undefined,
      defaultOn: bool('HEADROOM_DEFAULT_ON', env.HEADROOM_DEFAULT_ON, false),
      headroom,
    },
  };
}
