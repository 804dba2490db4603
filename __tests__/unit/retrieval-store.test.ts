/**
 * Retrieval stores: the in-process LRU (bounded in bytes and time, owners merged, counted) and the
 * Redis store against a real redis-server, two instances sharing it as a fleet would.
 */
import Redis from 'ioredis';
import { ANY_OWNER, contentHash, type RetrievalRecord } from '../../lib/ccr';
import { DEFAULT_RETRIEVAL_TTL_MS, LruRetrievalStore, MAX_OWNERS, RedisRetrievalStore, type RedisRetrievalClient } from '../../lib/retrieval-store';
import { redisBinary, startRedis, type RedisServer } from '../kit/redis';

const record = (original: string, extra: Partial<RetrievalRecord> = {}): RetrievalRecord => ({ original, source: 'local', createdAt: 1, ...extra });

describe('LruRetrievalStore', () => {
  test('put then get: the record, its owner, a count only when asked', async () => {
    const s = new LruRetrievalStore();
    const h = contentHash('tool output');
    await s.put(h, record('tool output', { toolName: 'Bash', originalItemCount: 3, compressedItemCount: 1 }), 'alice');
    expect(await s.get(h)).toEqual({
      record: { original: 'tool output', source: 'local', createdAt: 1, toolName: 'Bash', originalItemCount: 3, compressedItemCount: 1 },
      owners: ['alice'],
      retrievalCount: 0,
    });
    expect((await s.get(h, { count: true }))!.retrievalCount).toBe(1);
    expect((await s.get(h, { count: true }))!.retrievalCount).toBe(2);
    expect((await s.get(h))!.retrievalCount).toBe(2);
    expect(await s.get('0123456789abcdef0123aaaa')).toBeUndefined();
    expect(await s.get('NOT-A-HASH')).toBeUndefined();
  });

  test('the first record wins; owners merge, and past MAX_OWNERS the oldest is dropped', async () => {
    const s = new LruRetrievalStore();
    const h = contentHash('x');
    await s.put(h, record('x'), 'alice');
    await s.put(h, record('something else', { source: 'service' }), 'bob');
    await s.put(h, record('x'), 'alice');
    let got = await s.get(h);
    expect(got!.record.original).toBe('x');
    expect(got!.record.source).toBe('local');
    expect(got!.owners.sort()).toEqual(['alice', 'bob']);
    for (let i = 0; i < MAX_OWNERS + 5; i++) await s.put(h, record('x'), `owner-${i}`);
    got = await s.get(h);
    expect(got!.owners).toHaveLength(MAX_OWNERS);
    expect(got!.owners).not.toContain('alice');
    expect(got!.owners).toContain(`owner-${MAX_OWNERS + 4}`);
  });

  test('bounded in bytes: old originals are evicted, and one larger than the whole budget is not kept', async () => {
    const s = new LruRetrievalStore({ maxBytes: 100_000 });
    const hashes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const text = `${i}`.padEnd(10_000, 'x');
      hashes.push(contentHash(text));
      await s.put(hashes[i], record(text), ANY_OWNER);
    }
    expect(s.calculatedSize).toBeLessThanOrEqual(100_000);
    expect(await s.get(hashes[0])).toBeUndefined();
    expect((await s.get(hashes[19]))!.record.original.startsWith('19')).toBe(true);
    const huge = 'y'.repeat(60_000); // 120 kB as UTF-16
    await s.put(contentHash(huge), record(huge), ANY_OWNER);
    expect(await s.get(contentHash(huge))).toBeUndefined();
    expect(await s.get(hashes[19])).toBeDefined();
  });

  test('expires after ttlMs on an injected clock; a put refreshes the time to live', async () => {
    let now = 1_000;
    const s = new LruRetrievalStore({ ttlMs: 60_000, now: () => now });
    const [a, b] = [contentHash('a'), contentHash('b')];
    await s.put(a, record('a'), ANY_OWNER);
    await s.put(b, record('b'), ANY_OWNER);
    now += 50_000;
    await s.put(b, record('b'), 'again');
    now += 20_000;
    expect(await s.get(a)).toBeUndefined();
    expect(await s.get(b)).toBeDefined();
    now += 60_001;
    expect(await s.get(b)).toBeUndefined();
  });

  test('defaults: 64 MiB and 12 hours', () => {
    const s = new LruRetrievalStore();
    expect(s.maxBytes).toBe(64 * 1024 * 1024);
    expect(s.ttlMs).toBe(DEFAULT_RETRIEVAL_TTL_MS);
    expect(DEFAULT_RETRIEVAL_TTL_MS).toBe(12 * 60 * 60 * 1000);
  });

  test('refuses what no caller should pass, saying what is expected', async () => {
    const s = new LruRetrievalStore();
    await expect(s.put('abc', record('x'), 'o')).rejects.toThrow(/12–24 lowercase hex/);
    await expect(s.put(contentHash('x'), record('x'), '')).rejects.toThrow(/owner/);
    await expect(s.put(contentHash('x'), record('x'), 'o'.repeat(257))).rejects.toThrow(/256/);
    expect(() => new LruRetrievalStore({ maxBytes: 0 })).toThrow(/maxBytes must be a positive integer/);
    expect(() => new LruRetrievalStore({ ttlMs: 1.5 })).toThrow(/ttlMs/);
  });
});

const haveRedis = !!redisBinary();
if (!haveRedis && process.env.CI) throw new Error('redis-server must be installed under CI (.ci/run installs it)');
const describeRedis = haveRedis ? describe : describe.skip;

describeRedis('RedisRetrievalStore on a real redis-server', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis.stop();
  });
  function client() {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  test('an ioredis client satisfies RedisRetrievalClient as it is', () => {
    const c: RedisRetrievalClient = client();
    expect(typeof c.multi).toBe('function');
  });

  test('two store instances sharing one Redis: put on one, get on the other', async () => {
    const a = new RedisRetrievalStore(client(), { prefix: 'share:' });
    const b = new RedisRetrievalStore(client(), { prefix: 'share:' });
    const h = contentHash('shared output');
    await a.put(h, record('shared output', { toolName: 'Read', originalItemCount: 10, compressedItemCount: 2 }), 'alice');
    await b.put(h, record('not kept: first record wins', { source: 'service' }), 'bob');
    const got = await b.get(h, { count: true });
    expect(got!.record).toEqual({ original: 'shared output', source: 'local', createdAt: 1, toolName: 'Read', originalItemCount: 10, compressedItemCount: 2 });
    expect(got!.owners.sort()).toEqual(['alice', 'bob']);
    expect(got!.retrievalCount).toBe(1);
    expect((await a.get(h, { count: true }))!.retrievalCount).toBe(2);
    expect((await a.get(h))!.retrievalCount).toBe(2);
    expect(await a.get(contentHash('never put'))).toBeUndefined();
    // Another prefix is another store.
    expect(await new RedisRetrievalStore(client(), { prefix: 'other:' }).get(h)).toBeUndefined();
  });

  test('owners are bounded: the oldest go first', async () => {
    const s = new RedisRetrievalStore(client(), { prefix: 'owners:' });
    const h = contentHash('many readers');
    for (let i = 0; i < MAX_OWNERS + 3; i++) await s.put(h, record('many readers'), `owner-${i}`);
    const owners = (await s.get(h))!.owners;
    expect(owners).toHaveLength(MAX_OWNERS);
    expect(owners).not.toContain('owner-0');
    expect(owners).toContain(`owner-${MAX_OWNERS + 2}`);
  });

  test('entries expire after ttlMs, counts and owners with them', async () => {
    const c = client();
    const s = new RedisRetrievalStore(c, { prefix: 'ttl:', ttlMs: 300 });
    const h = contentHash('short-lived');
    await s.put(h, record('short-lived'), ANY_OWNER);
    await s.get(h, { count: true });
    expect(await s.get(h)).toBeDefined();
    await new Promise((r) => setTimeout(r, 600));
    expect(await s.get(h)).toBeUndefined();
    expect(await c.keys('ttl:*')).toEqual([]);
  });

  test('originals over maxOriginalBytes are not kept; a foreign value under the key is no record', async () => {
    const c = client();
    const s = new RedisRetrievalStore(c, { prefix: 'big:', maxOriginalBytes: 1000 });
    const big = 'é'.repeat(600); // 1200 UTF-8 bytes
    await s.put(contentHash(big), record(big), ANY_OWNER);
    expect(await s.get(contentHash(big))).toBeUndefined();
    const h = contentHash('foreign');
    await c.set(`big:{${h}}`, 'not json');
    expect(await s.get(h)).toBeUndefined();
  });

  test('errors propagate: the caller decides to fail open', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    dead.on('error', () => {});
    clients.push(dead);
    const s = new RedisRetrievalStore(dead);
    await expect(s.put(contentHash('x'), record('x'), ANY_OWNER)).rejects.toThrow();
    await expect(s.get(contentHash('x'))).rejects.toThrow();
  });

  test('refuses a client without multi(), saying what to pass', () => {
    expect(() => new RedisRetrievalStore({} as RedisRetrievalClient)).toThrow(/ioredis client/);
  });
});
