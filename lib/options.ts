import type { Request, Response } from 'express';
import { z } from 'zod';
import type { CompressFunction } from './contract';
import { HeadroomConfigError } from './errors';
import { defaultLogger, type Logger } from './logger';
import type { RetrievalStore } from './ccr';
import type { MemoStore } from './memo';
import type { HeadroomResult } from './result';

/** What the middleware does with what it computed: forward it (`compress`) or only record it (`audit`). */
export type HeadroomMode = 'compress' | 'audit';

/**
 * Options of {@link headroomCompression}. Each mirrors a setting of LiteLLM's `headroom` guardrail
 * where one exists (camelCase), with its default stated here and in the README.
 */
export interface HeadroomOptions {
  /** Headroom service base URL (http or https); trailing slashes ignored. Default: env `HEADROOM_API_BASE`. Required unless `compressor` is given. */
  apiBase?: string;
  /** Sent as `Authorization: Bearer …` to the Headroom service and nowhere else. Default: env `HEADROOM_API_KEY`, else none. */
  apiKey?: string;
  /** In-process compressor (e.g. the package's `compress`) used instead of an HTTP call. Default: none (call `apiBase`). */
  compressor?: CompressFunction;
  /** Model name sent to `/v1/compress` instead of the request's own `model` (picks the tokenizer). Default: the request's model. */
  model?: string;
  /** Compress every eligible request, without opt-in. Default: `false` (as LiteLLM's `default_on`). */
  defaultOn?: boolean;
  /** Name matched in per-request opt-ins and written to `x-litellm-applied-guardrails`. Default: `'headroom-compression'`. */
  guardrailName?: string;
  /** Per-key / per-team attachment: resolve true to compress this caller's requests. Errors count as false (logged). Default: none. */
  enabledFor?: (req: Request) => boolean | Promise<boolean>;
  /** Honour per-request opt-in in the body (`guardrails`, `litellm_metadata.guardrails`, `metadata.guardrails`). Turning it off lets requests that are not on by `defaultOn`/`enabledFor` pass without their body being read. Default: `true`. */
  optInFromBody?: boolean;
  /** Honour the `x-headroom-bypass: true` request header (any letter case). The header is never forwarded either way. Default: `true`. */
  allowBypass?: boolean;
  /** On service failure: `'fail_open'` forwards uncompressed; `'fail_closed'` answers 502 in the provider's error shape. Default: `'fail_open'`. */
  unreachableFallback?: 'fail_open' | 'fail_closed';
  /** Bound on the whole compress call, connect to last byte, in ms. Default: `5000` (above the service's measured p99 of 4.2 s, small next to a model call). */
  timeoutMs?: number;
  /**
   * A new tool output estimated under this many tokens (characters / 3) is not sent; the threshold
   * applies to each output on its own. Default: `500`: Headroom's own middleware skips requests under
   * 500 tokens, and its library leaves items under 250 alone (the embedded compressor under 200), so an
   * output of about 1,500 characters or more (every output of 2,000) is compressed the turn it arrives,
   * and smaller ones, where the saving would not pay for a round trip, are not.
   */
  minTokens?: number;
  /**
   * `'compress'` forwards compressed text. `'audit'` computes and records what would be saved
   * (`res.locals.headroom`, the token headers, `onResult`) and forwards the original bytes: for
   * rollouts. A function decides per request (e.g. per virtual key); it is asked only when the
   * request is compressed, and a throw counts as `'audit'` (logged), the side that changes nothing. Default: `'compress'`.
   */
  mode?: HeadroomMode | ((req: Request) => HeadroomMode | Promise<HeadroomMode>);
  /**
   * Where the originals behind retrieval markers are kept, shared with `headroomRetrieval({ store })`.
   * Default: an in-process `LruRetrievalStore` (64 MiB, 12 h), exposed as `middleware.retrievalStore`.
   * Use `RedisRetrievalStore` so every instance can serve what any one compressed.
   */
  retrievalStore?: RetrievalStore;
  /**
   * Who may retrieve what this request's compression kept (e.g. the caller's virtual key id); the
   * retrieval router lets only that owner, or a caller it authorises for all, read it. Undefined
   * or no function: any caller the router authorises. A throw counts as undefined (logged). Default: none.
   */
  retrievalOwner?: (req: Request, res: Response) => string | undefined | Promise<string | undefined>;
  /** Largest request body the middleware buffers: bytes, or a string like `'64mb'`. Larger → 413. Default: `'64mb'`. */
  limit?: number | string;
  /** Deepest nesting of arrays and objects the middleware parses. A deeper body is forwarded as sent (400 if it asks for compression itself, or if an earlier body parser left it too deep to serialise). Real requests nest about 10 deep. Default: `64`. */
  maxDepth?: number;
  /** Most rows of `messages` the middleware parses and compresses. A longer request is forwarded as sent (413 if it asks for compression in its body). Default: `10000` (`input` items of a Responses request count as rows). */
  maxMessages?: number;
  /** Most JSON values (arrays, objects and the items in them) the middleware parses; bounds the time of one `JSON.parse`. Past it: as `maxMessages`. Default: `500000` (at the recorded fixtures' densities a 60 MB body holds 77,000 to 610,000; `bench/fixture-stats.ts`). */
  maxJsonValues?: number;
  /** Also compress human text (never the live, last user turn). Default: `false`. */
  compressUserMessages?: boolean;
  /** Passed as `config.target_ratio`. Default: not sent. */
  targetRatio?: number;
  /** Passed as `token_budget`. Default: not sent. */
  tokenBudget?: number;
  /** In-process memo bounds: entries and total bytes of compressed text kept. Default: `{ maxEntries: 10000, maxBytes: 64 MiB }`. */
  memo?: { maxEntries?: number; maxBytes?: number };
  /** Shared memo (e.g. `new RedisMemoStore(redis)`) so several instances forward the same bytes for the same row. Default: none. */
  memoStore?: MemoStore;
  /** Bound on one round trip to the shared memo (past it the in-process memo answers) or to the retrieval store (past it the output goes on uncompressed). Default: `100`. */
  memoTimeoutMs?: number;
  /** Circuit breaker: after `failureThreshold` consecutive failures stop calling for `cooldownMs`, then probe. `false` turns it off. Default: `{ failureThreshold: 5, cooldownMs: 30000 }`. */
  breaker?: false | { failureThreshold?: number; cooldownMs?: number };
  /** Most compress calls in flight at once; beyond it requests go on uncompressed (never queued). Default: `64`. */
  maxInFlight?: number;
  /** Called once per request the middleware decided on, with the record also put in `res.locals.headroom`. Default: none. */
  onResult?: (info: HeadroomResult, req: Request, res: Response) => void;
  /** pino-compatible logger. Default: warnings and errors to the console, nothing else. */
  logger?: Logger;
}

/** Every field resolved: what the middleware runs on. */
export interface HeadroomConfig {
  apiBase?: string;
  compressUrl?: string;
  apiKey?: string;
  compressor?: CompressFunction;
  model?: string;
  defaultOn: boolean;
  guardrailName: string;
  guardrailNameBytes: Buffer;
  enabledFor?: (req: Request) => boolean | Promise<boolean>;
  optInFromBody: boolean;
  allowBypass: boolean;
  unreachableFallback: 'fail_open' | 'fail_closed';
  timeoutMs: number;
  minTokens: number;
  mode: HeadroomMode | ((req: Request) => HeadroomMode | Promise<HeadroomMode>);
  retrievalStore?: RetrievalStore;
  retrievalOwner?: (req: Request, res: Response) => string | undefined | Promise<string | undefined>;
  limit: number;
  /** `maxDepth`, `maxMessages` and `maxJsonValues`, resolved. */
  shapeLimits: { maxDepth: number; maxMessages: number; maxJsonValues: number };
  compressUserMessages: boolean;
  targetRatio?: number;
  tokenBudget?: number;
  memo: { maxEntries: number; maxBytes: number };
  memoStore?: MemoStore;
  memoTimeoutMs: number;
  breaker: false | { failureThreshold: number; cooldownMs: number };
  maxInFlight: number;
  onResult?: (info: HeadroomResult, req: Request, res: Response) => void;
  logger: Logger;
  /** Identifies the settings that change the service's output; part of every memo key. */
  fingerprint: string;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });

const optionsSchema = z.strictObject({
  apiBase: z.string().optional(),
  apiKey: z.string().min(1, 'must not be empty (omit it to send no key)').optional(),
  compressor: fn.optional(),
  model: z.string().min(1).optional(),
  defaultOn: z.boolean().optional(),
  guardrailName: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits, or _ . : - (it is written into a comma-separated header)')
    .optional(),
  enabledFor: fn.optional(),
  optInFromBody: z.boolean().optional(),
  allowBypass: z.boolean().optional(),
  unreachableFallback: z.enum(['fail_open', 'fail_closed']).optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  minTokens: z.number().int().nonnegative().optional(),
  mode: z.union([z.enum(['compress', 'audit']), fn]).optional(),
  retrievalStore: z
    .custom<RetrievalStore>((v) => !!v && typeof (v as RetrievalStore).put === 'function' && typeof (v as RetrievalStore).get === 'function', {
      message: 'must have put(hash, record, owner) and get(hash) methods (e.g. new RedisRetrievalStore(redis))',
    })
    .optional(),
  retrievalOwner: fn.optional(),
  limit: z.union([z.number().int().positive(), z.string()]).optional(),
  maxDepth: z.number().int().min(2).max(10_000).optional(),
  maxMessages: z.number().int().positive().optional(),
  maxJsonValues: z.number().int().positive().optional(),
  compressUserMessages: z.boolean().optional(),
  targetRatio: z.number().gt(0).lte(1).optional(),
  tokenBudget: z.number().int().positive().optional(),
  memo: z.strictObject({ maxEntries: z.number().int().positive().optional(), maxBytes: z.number().int().positive().optional() }).optional(),
  memoStore: z
    .custom<MemoStore>((v) => !!v && typeof (v as MemoStore).getMany === 'function' && typeof (v as MemoStore).setMany === 'function', {
      message: 'must have getMany(keys) and setMany(entries) methods',
    })
    .optional(),
  memoTimeoutMs: z.number().int().positive().optional(),
  breaker: z
    .union([
      z.literal(false),
      z.strictObject({
        failureThreshold: z.number().int().positive().optional(),
        cooldownMs: z.number().int().positive().optional(),
      }),
    ])
    .optional(),
  maxInFlight: z.number().int().positive().optional(),
  onResult: fn.optional(),
  logger: z
    .custom<Logger>((v) => !!v && ['debug', 'info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'), {
      message: 'must be pino-compatible: debug, info, warn and error methods',
    })
    .optional(),
});

/** LiteLLM's guardrail settings, as people will type them, and the option each one is here. */
const LITELLM_NAMES: Record<string, string> = {
  api_base: 'apiBase',
  api_key: 'apiKey',
  default_on: 'defaultOn',
  unreachable_fallback: 'unreachableFallback',
  timeout: 'timeoutMs',
  guardrail_name: 'guardrailName',
  min_tokens: 'minTokens',
  target_ratio: 'targetRatio',
  token_budget: 'tokenBudget',
  compress_user_messages: 'compressUserMessages',
};

const OPTION_NAMES = Object.keys(optionsSchema.shape);

/** "unknown option "x"", with the option meant when one is near enough, or LiteLLM's name mapped to ours. */
function unknownOption(name: string): string {
  const mapped = LITELLM_NAMES[name.toLowerCase()];
  if (mapped) return `unknown option "${name}": that is LiteLLM's name; here it is "${mapped}"${name === 'timeout' ? ' (milliseconds)' : ''}`;
  const near = nearestName(name, OPTION_NAMES);
  return near ? `unknown option "${name}" (did you mean "${near}"?)` : `unknown option "${name}"`;
}

/**
 * The closest name within `maxDistance` edits (case ignored; default a third of its length, at least
 * two), if any. Shared by the options of `headroomCompression` and `headroomRetrieval`.
 */
export function nearestName(name: string, candidates: readonly string[], maxDistance?: number): string | undefined {
  const lower = name.toLowerCase().slice(0, 64);
  let best: string | undefined;
  let bestDistance = (maxDistance ?? Math.max(2, Math.floor(lower.length / 3))) + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, two rows: option names are short. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** '64mb' → bytes. Accepts what express.json()'s `limit` accepts for the common units. */
export function parseLimit(limit: number | string): number {
  if (typeof limit === 'number') return limit;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!m) throw new HeadroomConfigError(`headroomCompression: limit "${limit}" is not a size. Pass bytes (67108864) or a string like '64mb'.`);
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]);
  // The number 0 is refused by the schema; '0' (or '0.1b') must not slip through as a limit every body exceeds.
  if (bytes < 1) throw new HeadroomConfigError(`headroomCompression: limit "${limit}" is under one byte, so every request would get 413. Pass a size such as '64mb'.`);
  return bytes;
}

/** Normalises an http(s) base URL or explains how to fix it. */
function resolveApiBase(raw: string | undefined, from: string): string {
  let url: URL;
  try {
    url = new URL(raw as string);
  } catch {
    throw new HeadroomConfigError(
      `headroomCompression: ${from} "${raw}" is not a URL. Pass an http(s) URL such as headroomCompression('http://127.0.0.1:8787') or set HEADROOM_API_BASE.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HeadroomConfigError(`headroomCompression: ${from} must be an http:// or https:// URL, got "${url.protocol}". Example: headroomCompression('http://127.0.0.1:8787').`);
  }
  const base = (url.origin + url.pathname).replace(/\/+$/, '');
  // The middleware appends /v1/compress itself: a base ending in /v1 would call /v1/v1/compress and get 404.
  if (/\/v1$/i.test(base)) {
    throw new HeadroomConfigError(
      `headroomCompression: ${from} "${raw}" ends in /v1, but the middleware appends /v1/compress itself. Pass the service root: '${base.replace(/\/v1$/i, '')}'.`,
    );
  }
  return base;
}

/**
 * Turns partial options (or the string shorthand) into a complete configuration, validating
 * everything once, when the middleware is created. Throws {@link HeadroomConfigError}.
 */
export function resolveOptions(input: string | HeadroomOptions | undefined, env: NodeJS.ProcessEnv = process.env): HeadroomConfig {
  const raw: HeadroomOptions = typeof input === 'string' ? { apiBase: input } : (input ?? {});
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new HeadroomConfigError('headroomCompression: pass the Headroom URL as a string or an options object, e.g. headroomCompression({ apiBase, defaultOn: true }).');
  }
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys' && i.path.length === 0
        ? i.keys.map((k) => unknownOption(k)).join('; ')
        : i.code === 'unrecognized_keys'
          ? `unknown option(s) ${i.keys.map((k) => `"${i.path.join('.')}.${k}"`).join(', ')}`
          : `option "${i.path.join('.')}" ${i.message}`,
    );
    throw new HeadroomConfigError(`headroomCompression: ${issues.join('; ')}. See the options table in the README.`);
  }
  const o = parsed.data as HeadroomOptions;

  let apiBase: string | undefined;
  if (o.apiBase !== undefined) apiBase = resolveApiBase(o.apiBase, 'apiBase');
  // An in-process compressor needs no service: HEADROOM_API_BASE is not read for it.
  else if (env.HEADROOM_API_BASE && !o.compressor) apiBase = resolveApiBase(env.HEADROOM_API_BASE, 'HEADROOM_API_BASE');
  else if (!o.compressor) {
    throw new HeadroomConfigError(
      'headroomCompression: no Headroom service configured: neither the apiBase option nor the HEADROOM_API_BASE environment variable is set. ' +
        "Call headroomCompression('http://127.0.0.1:8787'), pass { apiBase }, set HEADROOM_API_BASE, or pass { compressor } to compress in-process.",
    );
  }

  const guardrailName = o.guardrailName ?? 'headroom-compression';
  const model = o.model;
  const compressUserMessages = o.compressUserMessages ?? false;
  const limit = parseLimit(o.limit ?? '64mb');
  const breaker = o.breaker === false ? false : { failureThreshold: o.breaker?.failureThreshold ?? 5, cooldownMs: o.breaker?.cooldownMs ?? 30_000 };

  return {
    apiBase,
    compressUrl: apiBase ? `${apiBase}/v1/compress` : undefined,
    apiKey: o.apiKey ?? (env.HEADROOM_API_KEY || undefined),
    compressor: o.compressor,
    model,
    defaultOn: o.defaultOn ?? false,
    guardrailName,
    guardrailNameBytes: Buffer.from(JSON.stringify(guardrailName)),
    enabledFor: o.enabledFor,
    optInFromBody: o.optInFromBody ?? true,
    allowBypass: o.allowBypass ?? true,
    unreachableFallback: o.unreachableFallback ?? 'fail_open',
    timeoutMs: o.timeoutMs ?? 5000,
    minTokens: o.minTokens ?? 500,
    mode: o.mode ?? 'compress',
    retrievalStore: o.retrievalStore,
    retrievalOwner: o.retrievalOwner,
    limit,
    shapeLimits: { maxDepth: o.maxDepth ?? 64, maxMessages: o.maxMessages ?? 10_000, maxJsonValues: o.maxJsonValues ?? 500_000 },
    compressUserMessages,
    targetRatio: o.targetRatio,
    tokenBudget: o.tokenBudget,
    memo: { maxEntries: o.memo?.maxEntries ?? 10_000, maxBytes: o.memo?.maxBytes ?? 64 * 1024 * 1024 },
    memoStore: o.memoStore,
    memoTimeoutMs: o.memoTimeoutMs ?? 100,
    breaker,
    maxInFlight: o.maxInFlight ?? 64,
    onResult: o.onResult,
    logger: o.logger ?? defaultLogger,
    fingerprint: JSON.stringify([model ?? '', compressUserMessages, o.targetRatio ?? null, o.tokenBudget ?? null]),
  };
}
