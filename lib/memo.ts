import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from './logger';

/**
 * Where compressed text is remembered, by content hash, so that a tool output compressed once is
 * forwarded as the same bytes on every later turn (the provider's prompt cache holds) and a request
 * sent twice costs one service call.
 *
 * Implement this over any shared store so that several gateway instances agree.
 */
export interface MemoStore {
  /** Values for keys, `undefined` where absent. Order matches `keys`. */
  getMany(keys: string[]): Promise<(string | undefined)[]> | (string | undefined)[];
  setMany(entries: Array<[key: string, value: string]>): Promise<void> | void;
}

/** In-process memo bounded by entries and by bytes (lru-cache). */
export class LruMemoStore implements MemoStore {
  private readonly cache: LRUCache<string, string>;
  constructor(opts: { maxEntries: number; maxBytes: number }) {
    this.cache = new LRUCache<string, string>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      // UTF-16 length * 2 approximates the bytes a JS string holds; keys are 43-char hashes.
      sizeCalculation: (value, key) => value.length * 2 + key.length * 2 + 64,
    });
  }
  getMany(keys: string[]): (string | undefined)[] {
    return keys.map((k) => this.cache.get(k));
  }
  setMany(entries: Array<[string, string]>): void {
    for (const [k, v] of entries) this.cache.set(k, v);
  }
  get size(): number {
    return this.cache.size;
  }
  get calculatedSize(): number {
    return this.cache.calculatedSize;
  }
}

/** The subset of an ioredis (or node-redis v4 legacy-mode) client this store uses. */
export interface RedisLikeClient {
  mget(...keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
}

/**
 * Shared memo over Redis. Entries expire (`ttlMs`, default 24 h: longer than any conversation's
 * cache window) so Redis holds only live conversations. Errors propagate: the caller bounds and
 * falls back.
 */
export class RedisMemoStore implements MemoStore {
  private readonly prefix: string;
  private readonly ttlMs: number;
  constructor(
    private readonly client: RedisLikeClient,
    opts: { prefix?: string; ttlMs?: number } = {},
  ) {
    this.prefix = opts.prefix ?? 'headroom:memo:';
    this.ttlMs = opts.ttlMs ?? 24 * 60 * 60 * 1000;
  }
  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(...keys.map((k) => this.prefix + k));
    return values.map((v) => (v == null ? undefined : v));
  }
  async setMany(entries: Array<[string, string]>): Promise<void> {
    await Promise.all(entries.map(([k, v]) => this.client.set(this.prefix + k, v, 'PX', this.ttlMs)));
  }
}

/** A content key: hash of the settings that change the output plus the text itself. */
export function memoKey(kind: string, model: string, fingerprint: string, text: string, context = ''): string {
  // Each field is length-prefixed: a separator alone would let a NUL inside the client-chosen model
  // move bytes from one field to the next and make two different inputs share a key. The context
  // (question and call, see context.ts) is a field too: the compressed bytes depend on it.
  const hash = createHash('sha256');
  for (const field of [kind, model, fingerprint, context]) hash.update(`${field.length}:`).update(field);
  return hash.update(text).digest('base64url');
}

/** Bounds a store's answer by `ms`; past it the promise rejects with an error that names `what`. */
export function withTimeout<T>(p: Promise<T> | T, ms: number, what = 'shared memo'): Promise<T> {
  // Any thenable is bounded (a store's client may hand back a promise from another realm or library).
  if (typeof (p as { then?: unknown } | null)?.then !== 'function') return Promise.resolve(p);
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The memo the middleware uses: the in-process LRU first, then the shared store for misses.
 * Writes go to both. A shared store that fails or is slow is logged (once per outage) and skipped:
 * the in-process memo still answers, and no request waits past `timeoutMs` for it.
 */
export class TieredMemo {
  private sharedDown = false;
  constructor(
    readonly local: LruMemoStore,
    private readonly shared: MemoStore | undefined,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    const values = this.local.getMany(keys);
    if (!this.shared) return values;
    const missing: number[] = [];
    for (let i = 0; i < values.length; i++) if (values[i] === undefined) missing.push(i);
    if (missing.length === 0) return values;
    try {
      const found = await withTimeout(this.shared.getMany(missing.map((i) => keys[i])), this.timeoutMs);
      this.markUp();
      const refill: Array<[string, string]> = [];
      missing.forEach((idx, j) => {
        const v = found[j];
        if (typeof v === 'string') {
          values[idx] = v;
          refill.push([keys[idx], v]);
        }
      });
      this.local.setMany(refill);
    } catch (err) {
      this.markDown(err);
    }
    return values;
  }

  async setMany(entries: Array<[string, string]>): Promise<void> {
    if (entries.length === 0) return;
    this.local.setMany(entries);
    if (!this.shared) return;
    try {
      await withTimeout(this.shared.setMany(entries), this.timeoutMs);
      this.markUp();
    } catch (err) {
      this.markDown(err);
    }
  }

  private markDown(err: unknown) {
    if (!this.sharedDown) {
      this.sharedDown = true;
      this.logger.warn({ err: (err as Error)?.message }, 'shared memo unavailable; using the in-process memo');
    }
  }
  private markUp() {
    if (this.sharedDown) {
      this.sharedDown = false;
      this.logger.warn({}, 'shared memo available again');
    }
  }
}
