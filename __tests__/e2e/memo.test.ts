/**
 * Issue 3, point 5: the memo is bounded and pluggable. Two gateway instances sharing a real Redis
 * forward the same bytes for the same row; Redis going away mid-run falls back to the in-process
 * memo without losing or stalling a request.
 */
import Redis from 'ioredis';
import request from 'supertest';
import { RedisMemoStore } from '../../lib';
import { LruMemoStore, TieredMemo } from '../../lib/memo';
import { captureLogger, startStack, type Stack } from '../kit/app';
import { clone } from '../kit/fixtures';
import { redisBinary, startRedis, type RedisServer } from '../kit/redis';
import { anthropicSession, withoutCacheControl } from '../kit/session';

describe('LruMemoStore', () => {
  test('bounded by entries', () => {
    const m = new LruMemoStore({ maxEntries: 2, maxBytes: 1e9 });
    m.setMany([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(m.getMany(['a', 'b', 'c'])).toEqual([undefined, '2', '3']);
  });
  test('bounded by bytes', () => {
    const m = new LruMemoStore({ maxEntries: 1000, maxBytes: 10_000 });
    for (let i = 0; i < 20; i++) m.setMany([[`k${i}`, 'x'.repeat(1000)]]);
    expect(m.calculatedSize).toBeLessThanOrEqual(10_000);
    expect(m.size).toBeLessThan(20);
    expect(m.getMany(['k19'])).toEqual(['x'.repeat(1000)]);
  });
});

describe('TieredMemo over a shared store that misbehaves', () => {
  test('a store that never answers is bounded by memoTimeoutMs and logged once', async () => {
    const { lines, logger } = captureLogger();
    const hanging = { getMany: () => new Promise<never>(() => {}), setMany: () => new Promise<never>(() => {}) };
    const memo = new TieredMemo(new LruMemoStore({ maxEntries: 10, maxBytes: 1e6 }), hanging, 30, logger);
    await memo.setMany([['a', 'A']]);
    expect(await memo.getMany(['a', 'b'])).toEqual(['A', undefined]);
    expect(await memo.getMany(['c'])).toEqual([undefined]);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });
  test('a store that throws: local answers', async () => {
    const { logger } = captureLogger();
    const broken = {
      getMany: async () => {
        throw new Error('ECONNREFUSED');
      },
      setMany: async () => {
        throw new Error('ECONNREFUSED');
      },
    };
    const memo = new TieredMemo(new LruMemoStore({ maxEntries: 10, maxBytes: 1e6 }), broken, 100, logger);
    await memo.setMany([['k', 'v']]);
    expect(await memo.getMany(['k'])).toEqual(['v']);
  });
});

const haveRedis = !!redisBinary();
if (!haveRedis && process.env.CI) throw new Error('redis-server must be installed under CI (.ci/run installs it)');
const describeRedis = haveRedis ? describe : describe.skip;

describeRedis('shared memo on a real redis-server', () => {
  let redis: RedisServer;
  let clients: Redis[] = [];
  let stacks: Stack[] = [];
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const s of stacks) await s.close();
    for (const c of clients) c.disconnect();
    stacks = [];
    clients = [];
    await redis.stop();
  });

  function client() {
    // Fail fast while Redis is down instead of queueing commands: the memo has its own fallback.
    const c = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200, lazyConnect: false });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }
  async function instance() {
    const s = await startStack({ mode: 'vary', headroom: { memoStore: new RedisMemoStore(client(), { prefix: 'test:' }), memoTimeoutMs: 200 } });
    stacks.push(s);
    return s;
  }
  const post = (s: Stack, body: any) =>
    request(s.url)
      .post('/v1/messages')
      .send({ ...clone(body), litellm_metadata: { guardrails: ['headroom-compression'] } });

  test('two instances behind a load balancer forward the same bytes for the same rows', async () => {
    const a = await instance();
    const b = await instance();
    await new Promise((r) => setTimeout(r, 100)); // both clients connected
    const turns = anthropicSession(10);
    const forwarded: any[] = [];
    for (let k = 0; k < turns.length; k++) {
      const s = k % 2 === 0 ? a : b; // alternate instances every turn
      const n = s.upstream.requests.length;
      expect((await post(s, turns[k])).status).toBe(200);
      forwarded.push(s.upstream.requests[n].json);
    }
    for (let k = 1; k < forwarded.length; k++) {
      const prev = withoutCacheControl(forwarded[k - 1].messages);
      expect(JSON.stringify(withoutCacheControl(forwarded[k].messages).slice(0, prev.length))).toBe(JSON.stringify(prev));
    }
    // Each new output was compressed once, by whichever instance saw it first.
    expect(a.standIn.calls.length + b.standIn.calls.length).toBe(turns.length - 1);
  });

  test('Redis going away mid-run: requests go on, in-process memo answers, nothing lost', async () => {
    const a = await instance();
    await new Promise((r) => setTimeout(r, 100));
    const turns = anthropicSession(8);
    for (let k = 0; k < 4; k++) expect((await post(a, turns[k])).status).toBe(200);
    await redis.stop();
    for (let k = 4; k < 8; k++) {
      const res = await post(a, turns[k]);
      expect(res.status).toBe(200);
      const r = a.results[a.results.length - 1];
      expect(r.status).toBe('compressed');
      expect(r.memoHits).toBe(k - 1); // history from the in-process memo
    }
    expect(a.upstream.requests).toHaveLength(8);
    const last = a.upstream.requests[7].json;
    const prev = withoutCacheControl(a.upstream.requests[6].json.messages);
    expect(JSON.stringify(withoutCacheControl(last.messages).slice(0, prev.length))).toBe(JSON.stringify(prev));
  });
});
