/**
 * Virtual keys, LiteLLM style: `POST /key/generate`, `POST /key/update` and `POST /key/delete`
 * (master key only), kept in the gateway's store (SQLite or Postgres, db.ts). Only a SHA-256 of each key is stored; the key itself is shown once, at generation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { HeadroomMode } from 'express-headroom';
import type { Db, Migration, Queryable } from './db';
import { z } from 'zod';
import { MAX_ALIAS_CHARS, MAX_MODEL_CHARS } from './limits';

export interface VirtualKey {
  /** SHA-256 (hex) of the key: its id in the database, in spend logs, and LiteLLM's `token`. */
  token: string;
  /** `sk-...abcd`: enough to recognise a key, not to use it. */
  key_name: string;
  key_alias: string | null;
  guardrails: string[];
  /** Allowed models; `*` matches anything (`claude-*`). Empty: every model. */
  models: string[];
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export class KeyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const KEY_FIELDS = ['key_alias', 'guardrails', 'models', 'metadata'] as const;

/** `metadata.headroom_mode`: what the middleware does for this key's requests (app.ts's `mode`). */
export const MODE_FIELD = 'headroom_mode';
const HEADROOM_MODES: readonly HeadroomMode[] = ['compress', 'audit'];

/** The key's own mode, when it sets a valid one (validated on generate and update). */
export function keyMode(key: Pick<VirtualKey, 'metadata'>): HeadroomMode | undefined {
  const mode = key.metadata?.[MODE_FIELD];
  return HEADROOM_MODES.includes(mode as HeadroomMode) ? (mode as HeadroomMode) : undefined;
}

const fields = {
  // The alias is stored in every spend-log row of the key and shown on /ui: bounded.
  key_alias: z.string().min(1).max(MAX_ALIAS_CHARS).nullable().optional(),
  guardrails: z.array(z.string().min(1).max(256)).max(32).optional(),
  // A pattern longer than the longest model name checked could never match one.
  models: z.array(z.string().min(1).max(MAX_MODEL_CHARS)).max(256).optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((m) => !(MODE_FIELD in m) || HEADROOM_MODES.includes(m[MODE_FIELD] as HeadroomMode), {
      message: `${MODE_FIELD} must be "compress" or "audit" (audit: compute and record the saving, forward the original bytes)`,
      path: [MODE_FIELD],
    })
    .optional(),
};

const generateSchema = z.strictObject({
  ...fields,
  /** A key chosen by the caller (LiteLLM allows it); must start with `sk-`. */
  key: z
    .string()
    .regex(/^sk-[A-Za-z0-9_\-.]{16,200}$/, 'must be sk- followed by 16 to 200 letters, digits, _ - or .')
    .optional(),
});

const updateSchema = z.strictObject({ ...fields, key: z.string().min(1) });

/** LiteLLM's `/key/delete` body: keys (`sk-…`) or their tokens (SHA-256 hex). */
const deleteSchema = z.strictObject({ keys: z.array(z.string().min(1).max(512)).min(1).max(1000) });

function explain(error: z.ZodError, supported: readonly string[] = ['key', ...KEY_FIELDS]): string {
  return error.issues
    .map((i) =>
      i.code === 'unrecognized_keys' ? `unsupported field(s) ${i.keys.join(', ')} (this gateway supports ${supported.join(', ')})` : `${i.path.join('.') || 'body'}: ${i.message}`,
    )
    .join('; ');
}

/** A key as given (`sk-…`) or its token (64 hex), as LiteLLM accepts both → the token. */
function tokenOf(keyOrToken: string): string {
  return /^[0-9a-f]{64}$/.test(keyOrToken) ? keyOrToken : hashKey(keyOrToken);
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function abbreviate(key: string): string {
  return `${key.slice(0, 3)}...${key.slice(-4)}`;
}

interface KeyRow {
  token: string;
  key_name: string;
  key_alias: string | null;
  guardrails: string;
  models: string;
  metadata: string;
  created_at: string;
  updated_at: string;
}

function fromRow(row: KeyRow): VirtualKey {
  return {
    ...row,
    guardrails: JSON.parse(row.guardrails),
    models: JSON.parse(row.models),
    metadata: JSON.parse(row.metadata),
  };
}

/** LiteLLM's answer shape for a key (without the key itself unless given). */
export function keyResponse(k: VirtualKey, key?: string) {
  return {
    ...(key !== undefined ? { key } : {}),
    key_name: k.key_name,
    key_alias: k.key_alias,
    token: k.token,
    token_id: k.token,
    guardrails: k.guardrails,
    models: k.models,
    metadata: k.metadata,
    expires: null,
    created_at: k.created_at,
    updated_at: k.updated_at,
  };
}

/** Unique violation (a concurrent generate took the alias or key first): SQLite's and Postgres's. */
function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === '23505';
}

export class KeyStore {
  constructor(private readonly db: Db) {}

  private async row(token: string, q: Queryable = this.db): Promise<KeyRow | undefined> {
    return (await q.query<KeyRow>('SELECT * FROM keys WHERE token = $1', [token]))[0];
  }

  /** The key a client presented, or undefined. Read from the store every time: no cache (a deleted key fails at once on every instance). */
  async lookup(key: string): Promise<VirtualKey | undefined> {
    const row = await this.row(hashKey(key));
    return row ? fromRow(row) : undefined;
  }

  /** `POST /key/generate`. Throws {@link KeyError} (400) on a bad body or a taken alias. */
  async generate(body: unknown): Promise<{ key: string; record: VirtualKey }> {
    const parsed = generateSchema.safeParse(body ?? {});
    if (!parsed.success) throw new KeyError(400, explain(parsed.error));
    const input = parsed.data;
    const key = input.key ?? `sk-${randomBytes(24).toString('base64url')}`;
    const token = hashKey(key);
    if (await this.row(token)) throw new KeyError(400, 'this key already exists');
    await this.assertAliasFree(input.key_alias ?? null, token);
    const now = new Date().toISOString();
    const record: VirtualKey = {
      token,
      key_name: abbreviate(key),
      key_alias: input.key_alias ?? null,
      guardrails: input.guardrails ?? [],
      models: input.models ?? [],
      metadata: input.metadata ?? {},
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.query(
        `INSERT INTO keys (token, key_name, key_alias, guardrails, models, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          record.token,
          record.key_name,
          record.key_alias,
          JSON.stringify(record.guardrails),
          JSON.stringify(record.models),
          JSON.stringify(record.metadata),
          record.created_at,
          record.updated_at,
        ],
      );
    } catch (err) {
      // Another instance (or request) took the key or alias between the check and the insert.
      if (isUniqueViolation(err)) throw new KeyError(400, 'this key or its key_alias was just taken by another request; aliases must be unique');
      throw err;
    }
    return { key, record };
  }

  /**
   * `POST /key/update`: changes only the fields given (`guardrails: []` clears them). `key` is the
   * key itself or its `token` (SHA-256 hex), as in LiteLLM. Throws {@link KeyError} (400, 404).
   */
  async update(body: unknown): Promise<VirtualKey> {
    const parsed = updateSchema.safeParse(body ?? {});
    if (!parsed.success) throw new KeyError(400, explain(parsed.error));
    const input = parsed.data;
    const token = tokenOf(input.key);
    const row = await this.row(token);
    if (!row) throw new KeyError(404, 'key not found');
    const current = fromRow(row);
    if (input.key_alias !== undefined) await this.assertAliasFree(input.key_alias, token);
    const next: VirtualKey = {
      ...current,
      key_alias: input.key_alias !== undefined ? input.key_alias : current.key_alias,
      guardrails: input.guardrails ?? current.guardrails,
      models: input.models ?? current.models,
      metadata: input.metadata ?? current.metadata,
      updated_at: new Date().toISOString(),
    };
    try {
      await this.db.query('UPDATE keys SET key_alias = $1, guardrails = $2, models = $3, metadata = $4, updated_at = $5 WHERE token = $6', [
        next.key_alias,
        JSON.stringify(next.guardrails),
        JSON.stringify(next.models),
        JSON.stringify(next.metadata),
        next.updated_at,
        token,
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new KeyError(400, `key_alias "${next.key_alias}" is already used by another key; aliases must be unique`);
      throw err;
    }
    return next;
  }

  /**
   * `POST /key/delete`: all of `keys` or none. Throws {@link KeyError} 404 when one is unknown
   * (naming it abbreviated, never whole), so a typo never leaves the caller believing a leaked key is
   * gone. Returns the keys as given (LiteLLM's `deleted_keys`).
   */
  async delete(body: unknown): Promise<string[]> {
    const parsed = deleteSchema.safeParse(body ?? {});
    if (!parsed.success) throw new KeyError(400, explain(parsed.error, ['keys']));
    const { keys } = parsed.data;
    // One transaction: the check and the deletes see the same table (other instances share it).
    await this.db.transaction(async (tx) => {
      const unknown: string[] = [];
      for (const k of keys) if (!(await this.row(tokenOf(k), tx))) unknown.push(k);
      if (unknown.length) throw new KeyError(404, `key not found: ${unknown.map(abbreviate).join(', ')}; nothing was deleted`);
      for (const token of new Set(keys.map(tokenOf))) await tx.query('DELETE FROM keys WHERE token = $1', [token]);
    });
    return keys;
  }

  private async assertAliasFree(alias: string | null, token: string): Promise<void> {
    if (alias === null) return;
    const holder = (await this.db.query<KeyRow>('SELECT * FROM keys WHERE key_alias = $1', [alias]))[0];
    if (holder && holder.token !== token) throw new KeyError(400, `key_alias "${alias}" is already used by another key; aliases must be unique`);
  }
}

/** The keys table (migration 1 of the gateway's schema, see app.ts). */
export const KEYS_MIGRATION: Migration = {
  version: 1,
  name: 'keys',
  sql: () => `
    CREATE TABLE IF NOT EXISTS keys (
      token      TEXT PRIMARY KEY,
      key_name   TEXT NOT NULL,
      key_alias  TEXT UNIQUE,
      guardrails TEXT NOT NULL DEFAULT '[]',
      models     TEXT NOT NULL DEFAULT '[]',
      metadata   TEXT NOT NULL DEFAULT '{}',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
};
