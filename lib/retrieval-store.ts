/**
 * Where originals are kept for retrieval: {@link LruRetrievalStore} in-process (the default), and
 * {@link RedisRetrievalStore} so every instance of a fleet serves what any one of them compressed.
 * Both implement `RetrievalStore` from `./ccr`.
 */
import { LRUCache } from 'lru-cache';
import { RETRIEVAL_HASH, type RetrievalRecord, type RetrievalStore, type StoredRetrieval } from './ccr';

/**
 * How long an original stays retrievable: 12 hours, long enough for a working day with pauses.
 * Headroom's own service keeps its originals 30 minutes, too short for a Claude Code session resumed
 * after lunch: the model then meets a `hash=` marker whose original is gone.
 */
export const DEFAULT_RETRIEVAL_TTL_MS = 12 * 60 * 60 * 1000;

/** Readers kept per hash; past it the oldest is dropped (one tool output is rarely shared by more callers). */
export const MAX_OWNERS = 64;

/** Longest owner id a store accepts: ids are names or key hashes, never content. */
export const MAX_OWNER_LENGTH = 256;

/** Refuses what no caller of a store should pass, so a defect shows at the call and not as a silent miss. */
function checkPut(hash: string, record: RetrievalRecord, owner: string): void {
  if (typeof hash !== 'string' || !RETRIEVAL_HASH.test(hash)) throw new TypeError('retrieval store: hash must be 12–24 lowercase hex (see RETRIEVAL_HASH)');
  if (!record || typeof record.original !== 'string') throw new TypeError('retrieval store: record.original must be a string');
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    throw new TypeError(`retrieval store: owner must be a non-empty string of at most ${MAX_OWNER_LENGTH} characters (ANY_OWNER for "any authorised reader")`);
  }
}

/** The fields of a record a store keeps: nothing else a caller put on the object. */
function cleanRecord(r: RetrievalRecord): RetrievalRecord {
  const out: RetrievalRecord = { original: r.original, source: r.source === 'service' ? 'service' : 'local', createdAt: Number.isFinite(r.createdAt) ? r.createdAt : Date.now() };
  if (typeof r.toolName === 'string') out.toolName = r.toolName.slice(0, 256);
  if (Number.isInteger(r.originalItemCount)) out.originalItemCount = r.originalItemCount;
  if (Number.isInteger(r.compressedItemCount)) out.compressedItemCount = r.compressedItemCount;
  return out;
}

interface LruEntry {
  record: RetrievalRecord;
  /** Insertion-ordered: the first is the oldest, dropped past {@link MAX_OWNERS}. */
  owners: Set<string>;
  count: number;
}

/** UTF-16 length × 2 approximates the bytes a JS string holds; 64 per string, 256 per entry, for the objects around them. */
function entrySize(e: LruEntry, hash: string): number {
  let size = 256 + hash.length * 2 + e.record.original.length * 2 + (e.record.toolName?.length ?? 0) * 2;
  for (const o of e.owners) size += 64 + o.length * 2;
  return size;
}

export interface LruRetrievalStoreOptions {
  /** Budget for everything kept, in bytes (approximate: UTF-16 length × 2 plus overhead). An original larger than the whole budget is not kept. Default: 64 MiB. */
  maxBytes?: number;
  /** How long an original stays retrievable after it was last put, in ms. Default: 12 hours ({@link DEFAULT_RETRIEVAL_TTL_MS}). */
  ttlMs?: number;
  /** The clock, in ms (tests move it instead of sleeping). Default: `performance.now`. */
  now?: () => number;
}

/**
 * In-process store, bounded in bytes and in time. Least recently used originals go first when the
 * budget is full. The default store of `headroomCompression` (exposed as `middleware.retrievalStore`).
 */
export class LruRetrievalStore implements RetrievalStore {
  private readonly cache: LRUCache<string, LruEntry>;
  readonly maxBytes: number;
  readonly ttlMs: number;

  constructor(opts: LruRetrievalStoreOptions = {}) {
    this.maxBytes = positiveInt(opts.maxBytes, 64 * 1024 * 1024, 'maxBytes');
    this.ttlMs = positiveInt(opts.ttlMs, DEFAULT_RETRIEVAL_TTL_MS, 'ttlMs');
    if (opts.now !== undefined && typeof opts.now !== 'function') throw new TypeError('LruRetrievalStore: now must be a function returning milliseconds');
    const now = opts.now;
    this.cache = new LRUCache<string, LruEntry>({
      maxSize: this.maxBytes,
      ttl: this.ttlMs,
      sizeCalculation: (entry, hash) => entrySize(entry, hash),
      // An injected clock is read on every check: lru-cache otherwise caches "now" for 1 ms of real time.
      ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
    });
  }

  async put(hash: string, record: RetrievalRecord, owner: string): Promise<void> {
    checkPut(hash, record, owner);
    const found = this.cache.get(hash);
    const entry: LruEntry = found ?? { record: cleanRecord(record), owners: new Set(), count: 0 };
    // Re-adding moves the owner last: "oldest" is the one not seen for longest.
    entry.owners.delete(owner);
    entry.owners.add(owner);
    if (entry.owners.size > MAX_OWNERS) entry.owners.delete(entry.owners.values().next().value as string);
    // Set again even when found: the size changes with its owners, and a put refreshes the time to live
    // (a conversation still sending this output keeps it retrievable).
    this.cache.set(hash, entry);
  }

  async get(hash: string, options: { count?: boolean } = {}): Promise<StoredRetrieval | undefined> {
    if (typeof hash !== 'string' || !RETRIEVAL_HASH.test(hash)) return undefined;
    const entry = this.cache.get(hash);
    if (!entry) return undefined;
    if (options.count) entry.count++;
    return { record: { ...entry.record }, owners: [...entry.owners], retrievalCount: entry.count };
  }

  /** Originals kept now (expired ones may still count until they are next touched or evicted). */
  get size(): number {
    return this.cache.size;
  }
  /** Approximate bytes held. */
  get calculatedSize(): number {
    return this.cache.calculatedSize;
  }
}

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`retrieval store: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** One queued command of a MULTI, as ioredis's `ChainableCommander` offers it. */
export interface RedisRetrievalMulti {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): RedisRetrievalMulti;
  get(key: string): RedisRetrievalMulti;
  pexpire(key: string, ms: number): RedisRetrievalMulti;
  zadd(key: string, score: number, member: string): RedisRetrievalMulti;
  zremrangebyrank(key: string, start: number, stop: number): RedisRetrievalMulti;
  zrange(key: string, start: number, stop: number): RedisRetrievalMulti;
  incr(key: string): RedisRetrievalMulti;
  /** ioredis: one `[error, result]` per command, or null when a WATCHed key changed (never here). */
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** The subset of an ioredis client this store uses: MULTI transactions. */
export interface RedisRetrievalClient {
  multi(): RedisRetrievalMulti;
}

export interface RedisRetrievalStoreOptions {
  /** Prefix of every key. Default: `'headroom:ccr:'`. */
  prefix?: string;
  /** How long an original stays retrievable after it was last put, in ms. Default: 12 hours ({@link DEFAULT_RETRIEVAL_TTL_MS}). */
  ttlMs?: number;
  /** Originals larger than this many UTF-8 bytes are not kept (Redis moves a large value slowly). Default: 16 MiB. */
  maxOriginalBytes?: number;
}

async function run(multi: RedisRetrievalMulti): Promise<unknown[]> {
  const replies = await multi.exec();
  if (!replies) throw new Error('retrieval store: Redis transaction aborted');
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, value]) => value);
}

function parseRecord(json: unknown): RetrievalRecord | undefined {
  if (typeof json !== 'string') return undefined;
  try {
    const r = JSON.parse(json) as RetrievalRecord;
    // A key under our prefix that is not our record (written by something else) is no record.
    return r && typeof r.original === 'string' && (r.source === 'local' || r.source === 'service') ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Shared store over Redis. Per hash, three keys in one hash slot (`{hash}`, so MULTI works on a
 * Redis Cluster too): the record as JSON (SET NX: the first write wins), its owners as a sorted set
 * scored by time (the oldest dropped past {@link MAX_OWNERS}), and its retrieval count. Each put
 * refreshes all three's time to live. Errors propagate: the caller decides to fail open.
 */
export class RedisRetrievalStore implements RetrievalStore {
  private readonly prefix: string;
  readonly ttlMs: number;
  readonly maxOriginalBytes: number;

  constructor(
    private readonly client: RedisRetrievalClient,
    opts: RedisRetrievalStoreOptions = {},
  ) {
    if (!client || typeof client.multi !== 'function') throw new TypeError('RedisRetrievalStore: pass an ioredis client (new Redis(url)); it must have multi()');
    if (opts.prefix !== undefined && (typeof opts.prefix !== 'string' || opts.prefix.length > 128))
      throw new TypeError('RedisRetrievalStore: prefix must be a string of at most 128 characters');
    this.prefix = opts.prefix ?? 'headroom:ccr:';
    this.ttlMs = positiveInt(opts.ttlMs, DEFAULT_RETRIEVAL_TTL_MS, 'ttlMs');
    this.maxOriginalBytes = positiveInt(opts.maxOriginalBytes, 16 * 1024 * 1024, 'maxOriginalBytes');
  }

  private keys(hash: string) {
    const base = `${this.prefix}{${hash}}`;
    return { record: base, owners: `${base}:owners`, count: `${base}:count` };
  }

  async put(hash: string, record: RetrievalRecord, owner: string): Promise<void> {
    checkPut(hash, record, owner);
    if (record.original.length > this.maxOriginalBytes || Buffer.byteLength(record.original, 'utf8') > this.maxOriginalBytes) return;
    const k = this.keys(hash);
    await run(
      this.client
        .multi()
        .set(k.record, JSON.stringify(cleanRecord(record)), 'PX', this.ttlMs, 'NX')
        .pexpire(k.record, this.ttlMs)
        .zadd(k.owners, Date.now(), owner)
        // Keep the newest MAX_OWNERS: ranks run oldest first.
        .zremrangebyrank(k.owners, 0, -(MAX_OWNERS + 1))
        .pexpire(k.owners, this.ttlMs)
        .pexpire(k.count, this.ttlMs),
    );
  }

  async get(hash: string, options: { count?: boolean } = {}): Promise<StoredRetrieval | undefined> {
    if (typeof hash !== 'string' || !RETRIEVAL_HASH.test(hash)) return undefined;
    const k = this.keys(hash);
    const [json, owners, count] = await run(this.client.multi().get(k.record).zrange(k.owners, 0, -1).get(k.count));
    const record = parseRecord(json);
    if (!record) return undefined;
    let retrievalCount = Number(count ?? 0) || 0;
    if (options.count) {
      // After the read, in a second transaction: a count is only made for a record that exists. If
      // it expired in between, the count key lives one ttl and is never read.
      const [n] = await run(this.client.multi().incr(k.count).pexpire(k.count, this.ttlMs));
      retrievalCount = Number(n);
    }
    return { record, owners: Array.isArray(owners) ? owners.map(String) : [], retrievalCount };
  }
}
