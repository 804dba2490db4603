/**
 * Options of {@link headroomRetrieval}, validated once when the router is created: a call that
 * cannot work throws {@link HeadroomConfigError} saying how to fix it.
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { RetrievalStore } from './ccr';
import { HeadroomConfigError } from './errors';
import { defaultLogger, type Logger } from './logger';
import { nearestName } from './options';

/** Who may read what: one owner's originals, or every original (an operator, a loopback tool). */
export type RetrievalAccess = { owner: string } | { all: true };

/** Decides the caller's access; `false` or `undefined` refuses it (401). */
export type RetrievalAuthorize = (req: Request) => RetrievalAccess | false | undefined | Promise<RetrievalAccess | false | undefined>;

export interface HeadroomRetrievalOptions {
  /** Where the originals are: the store given to `headroomCompression({ retrievalStore })`, or its `middleware.retrievalStore`. Required. */
  store: RetrievalStore;
  /**
   * Who may read what. Default: callers on loopback (by socket address, with a loopback `Host` and no
   * `Forwarded`/`X-Forwarded-For` header) read everything, everyone else gets 401 — as the Headroom
   * service serves retrieval to loopback callers only. Behind a reverse proxy, pass your own.
   */
  authorize?: RetrievalAuthorize;
  /** A Headroom service's root, asked first for originals under its own hashes (`GET {apiBase}/v1/retrieve/{hash}`). Default: none (stored originals only). */
  apiBase?: string;
  /** Sent as `Authorization: Bearer …` to that service only. Default: none. */
  apiKey?: string;
  /** Bound on one call to that service, in ms; past it the stored original is served. Default: `5000`. */
  timeoutMs?: number;
  /** Path of the REST routes (`GET {retrievePath}/:hash`, `POST {retrievePath}`). Default: `'/v1/retrieve'`. */
  retrievePath?: string;
  /** Path of the MCP endpoint (Streamable HTTP). Default: `'/mcp'`. */
  mcpPath?: string;
  /** Serve the `headroom_retrieve` tool over MCP; needs `@modelcontextprotocol/sdk` installed. Default: `true`. */
  mcp?: boolean;
  /** pino-compatible logger. Default: warnings and errors to the console. */
  logger?: Logger;
}

export interface RetrievalConfig {
  store: RetrievalStore;
  authorize: RetrievalAuthorize;
  apiBase?: string;
  apiKey?: string;
  timeoutMs: number;
  retrievePath: string;
  mcpPath: string;
  mcp: boolean;
  logger: Logger;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });
const path = z
  .string()
  .max(256)
  .regex(/^(\/[A-Za-z0-9._~-]+)+$/, "must start with '/', have no trailing '/', and use only letters, digits and . _ ~ - between slashes");

const schema = z.strictObject({
  store: z.custom<RetrievalStore>((v) => !!v && typeof (v as RetrievalStore).get === 'function' && typeof (v as RetrievalStore).put === 'function', {
    message: 'must be a RetrievalStore (put and get methods): pass the same store as headroomCompression({ retrievalStore }), or its middleware.retrievalStore',
  }),
  authorize: fn.optional(),
  apiBase: z.string().optional(),
  apiKey: z.string().min(1, 'must not be empty (omit it to send no key)').max(4096).optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  retrievePath: path.optional(),
  mcpPath: path.optional(),
  mcp: z.boolean().optional(),
  logger: z
    .custom<Logger>((v) => !!v && ['debug', 'info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'), {
      message: 'must be pino-compatible: debug, info, warn and error methods',
    })
    .optional(),
});

const NAMES = Object.keys(schema.shape);

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
    return issue.keys
      .map((k) => {
        // Same letters in another case, or one or two edits away.
        const near = nearestName(k, NAMES, 2);
        return near ? `unknown option "${k}" (did you mean "${near}"?)` : `unknown option "${k}"`;
      })
      .join('; ');
  }
  return `option "${issue.path.join('.')}" ${issue.message}`;
}

function resolveBase(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HeadroomConfigError(`headroomRetrieval: apiBase "${raw.slice(0, 200)}" is not a URL. Pass the Headroom service root, e.g. { apiBase: 'http://127.0.0.1:8787' }.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HeadroomConfigError(`headroomRetrieval: apiBase must be an http:// or https:// URL, got "${url.protocol}". Example: { apiBase: 'http://127.0.0.1:8787' }.`);
  }
  const base = (url.origin + url.pathname).replace(/\/+$/, '');
  // The router appends /v1/retrieve/{hash} itself.
  if (/\/v1$/i.test(base))
    throw new HeadroomConfigError(`headroomRetrieval: apiBase "${raw}" ends in /v1, but the router appends /v1/retrieve itself. Pass '${base.slice(0, -3)}'.`);
  return base;
}

/** Validates the options and fills in the defaults. Throws {@link HeadroomConfigError}. */
export function resolveRetrievalOptions(input: HeadroomRetrievalOptions, defaultAuthorize: RetrievalAuthorize): RetrievalConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new HeadroomConfigError('headroomRetrieval: pass an options object with the store, e.g. headroomRetrieval({ store: middleware.retrievalStore }).');
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new HeadroomConfigError(`headroomRetrieval: ${parsed.error.issues.map(issueText).join('; ')}. See headroomRetrieval's options in the README.`);
  }
  const o = parsed.data as HeadroomRetrievalOptions;
  const retrievePath = o.retrievePath ?? '/v1/retrieve';
  const mcpPath = o.mcpPath ?? '/mcp';
  if (o.mcp !== false && retrievePath === mcpPath) {
    throw new HeadroomConfigError(`headroomRetrieval: retrievePath and mcpPath are both "${mcpPath}". Give them different paths, or pass mcp: false.`);
  }
  if (o.apiKey !== undefined && o.apiBase === undefined) {
    throw new HeadroomConfigError('headroomRetrieval: apiKey is set but apiBase is not: the key is only sent to the Headroom service at apiBase. Pass both, or neither.');
  }
  return {
    store: o.store,
    authorize: o.authorize ?? defaultAuthorize,
    apiBase: o.apiBase === undefined ? undefined : resolveBase(o.apiBase),
    apiKey: o.apiKey,
    timeoutMs: o.timeoutMs ?? 5000,
    retrievePath,
    mcpPath,
    mcp: o.mcp ?? true,
    logger: o.logger ?? defaultLogger,
  };
}
