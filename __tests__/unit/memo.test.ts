/**
 * The memo (lib/memo.ts): the bounded in-process LRU, content keys, the Redis store over a fake
 * client, and the tiered memo over a fake shared store, whose slowness is driven by jest's fake
 * timers, never by waiting.
 */
import vm from 'node:vm';
import fc from 'fast-check';
import type { Logger } from '../../lib/logger';
import { LruMemoStore, RedisMemoStore, TieredMemo, memoKey, type MemoStore, type RedisLikeClient } from '../../lib/memo';

/** What `LruMemoStore` charges for an entry: UTF-16 bytes of key and value plus 64. */
const cost = (key: string, value: string) => key.length * 2 + value.length * 2 + 64;

describe('LruMemoStore', () => {
  test('answers what was set, undefined where absent, in the order asked', () => {
    const store = new LruMemoStore({ maxEntries: 10, maxBytes: 1_000_000 });
    store.setMany([
      ['a', 'A'],
      ['b', 'B'],
    ]);
    expect(store.getMany(['b', 'x', 'a'])).toEqual(['B', undefined, 'A']);
    expect(store.getMany([])).toEqual([]);
    expect(store.size).toBe(2);
  });

  test('maxEntries evicts the least recently used (a read counts as a use)', () => {
    const store = new LruMemoStore({ maxEntries: 2, maxBytes: 1_000_000 });
    store.setMany([
      ['a', 'A'],
      ['b', 'B'],
    ]);
    expect(store.getMany(['a'])).toEqual(['A']); // a is now more recent than b
    store.setMany([['c', 'C']]);
    expect(store.size).toBe(2);
    expect(store.getMany(['a', 'b', 'c'])).toEqual(['A', undefined, 'C']);
  });

  test('maxBytes evicts by size, least recently used first', () => {
    const v = 'x'.repeat(100);
    const one = cost('k1', v); // 2*2 + 100*2 + 64 = 268
    expect(one).toBe(268);
    const store = new LruMemoStore({ maxEntries: 100, maxBytes: 2 * one + 10 });
    store.setMany([
      ['k1', v],
      ['k2', v],
    ]);
    expect(store.size).toBe(2);
    expect(store.calculatedSize).toBe(2 * one);
    store.setMany([['k3', v]]);
    expect(store.size).toBe(2);
    expect(store.calculatedSize).toBe(2 * one);
    expect(store.getMany(['k1', 'k2', 'k3'])).toEqual([undefined, v, v]);
    // One big entry pushes out both small ones.
    const big = 'y'.repeat(200); // 4 + 400 + 64 = 468 <= 546
    store.setMany([['k4', big]]);
    expect(store.getMany(['k2', 'k3', 'k4'])).toEqual([undefined, undefined, big]);
    expect(store.calculatedSize).toBe(cost('k4', big));
  });

  test('an entry larger than maxBytes is not kept, and does not evict the others', () => {
    const store = new LruMemoStore({ maxEntries: 100, maxBytes: 300 });
    store.setMany([['a', 'A']]);
    store.setMany([['huge', 'z'.repeat(200)]]);
    expect(store.getMany(['a', 'huge'])).toEqual(['A', undefined]);
    expect(store.size).toBe(1);
  });

  test('generated: never more than maxEntries entries nor maxBytes bytes, and the newest fitting entry is always kept', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 200, max: 2000 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), fc.string({ maxLength: 300 })), { maxLength: 40 }),
        (maxEntries, maxBytes, writes) => {
          const store = new LruMemoStore({ maxEntries, maxBytes });
          for (const [k, v] of writes) {
            store.setMany([[k, v]]);
            expect(store.size).toBeLessThanOrEqual(maxEntries);
            expect(store.calculatedSize).toBeLessThanOrEqual(maxBytes);
            if (cost(k, v) <= maxBytes) expect(store.getMany([k])).toEqual([v]);
          }
        },
      ),
    );
  });
});

describe('memoKey', () => {
  test('same inputs give the same key: a 43-character base64url sha-256', () => {
    const k = memoKey('tool', 'claude-x', '["m",false,null,null]', 'some tool output');
    expect(k).toBe(memoKey('tool', 'claude-x', '["m",false,null,null]', 'some tool output'));
    expect(k).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('each of kind, model, fingerprint and text changes the key', () => {
    const base = ['tool', 'model-a', 'fp', 'text'] as const;
    const k0 = memoKey(...base);
    for (let i = 0; i < 4; i++) {
      const changed = [...base] as [string, string, string, string];
      changed[i] += '!';
      expect(memoKey(...changed)).not.toBe(k0);
    }
  });

  test('moving characters between fields changes the key (the fields are delimited)', () => {
    expect(memoKey('tool', 'ab', 'c', 'd')).not.toBe(memoKey('tool', 'a', 'bc', 'd'));
    expect(memoKey('tool', 'a', 'b', 'cd')).not.toBe(memoKey('tool', 'a', 'bc', 'd'));
    expect(memoKey('tool', '', 'x', 'y')).not.toBe(memoKey('tool', 'x', '', 'y'));
  });

  test('generated: equal iff all four inputs are equal (texts without NUL)', () => {
    const field = fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', '1', 'é', ' ', '\n') });
    const quad = fc.tuple(fc.constantFrom('tool', 'user'), field, field, field);
    fc.assert(
      fc.property(quad, quad, (x, y) => {
        const same = x.every((v, i) => v === y[i]);
        expect(memoKey(...x) === memoKey(...y)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  // Regression (found by this file): fields were joined with '\0' unescaped, so a NUL inside the
  // client-chosen model could move a boundary and two different inputs share a key (with a shared
  // Redis memo, one caller's entry served for another's text). Fields are now length-prefixed.
  test('a NUL inside a field cannot make two different inputs share a key', () => {
    expect(memoKey('tool', 'm\0fp', 'x', 'text')).not.toBe(memoKey('tool', 'm', 'fp\0x', 'text'));
  });
});

describe('RedisMemoStore', () => {
  function fakeRedis(values: Record<string, string> = {}) {
    const calls: { mget: string[][]; set: unknown[][] } = { mget: [], set: [] };
    const client: RedisLikeClient = {
      async mget(...keys) {
        calls.mget.push(keys);
        return keys.map((k) => values[k] ?? null);
      },
      async set(...args) {
        calls.set.push(args);
        values[args[0]] = args[1];
        return 'OK';
      },
    };
    return { client, calls, values };
  }

  test('getMany asks for prefixed keys in one MGET and turns null into undefined', async () => {
    const { client, calls } = fakeRedis({ 'headroom:memo:b': 'B' });
    const store = new RedisMemoStore(client);
    await expect(store.getMany(['a', 'b'])).resolves.toEqual([undefined, 'B']);
    expect(calls.mget).toEqual([['headroom:memo:a', 'headroom:memo:b']]);
  });

  test('getMany of no keys does not call Redis', async () => {
    const { client, calls } = fakeRedis();
    await expect(new RedisMemoStore(client).getMany([])).resolves.toEqual([]);
    expect(calls.mget).toEqual([]);
  });

  test('setMany sets each prefixed key with PX and the default 24 h TTL', async () => {
    const { client, calls } = fakeRedis();
    await new RedisMemoStore(client).setMany([
      ['a', 'A'],
      ['b', 'B'],
    ]);
    expect(calls.set).toEqual([
      ['headroom:memo:a', 'A', 'PX', 86_400_000],
      ['headroom:memo:b', 'B', 'PX', 86_400_000],
    ]);
  });

  test('prefix and ttlMs are honoured, and a value set is read back', async () => {
    const { client, calls } = fakeRedis();
    const store = new RedisMemoStore(client, { prefix: 'gw1:', ttlMs: 5000 });
    await store.setMany([['k', 'V']]);
    expect(calls.set).toEqual([['gw1:k', 'V', 'PX', 5000]]);
    await expect(store.getMany(['k', 'other'])).resolves.toEqual(['V', undefined]);
    expect(calls.mget).toEqual([['gw1:k', 'gw1:other']]);
  });

  test('errors propagate (the tiered memo bounds and falls back)', async () => {
    const client: RedisLikeClient = {
      mget: async () => {
        throw new Error('ECONNREFUSED');
      },
      set: async () => {
        throw new Error('READONLY');
      },
    };
    const store = new RedisMemoStore(client);
    await expect(store.getMany(['a'])).rejects.toThrow('ECONNREFUSED');
    await expect(store.setMany([['a', 'A']])).rejects.toThrow('READONLY');
  });
});

describe('TieredMemo', () => {
  const TIMEOUT = 100;

  function capturingLogger() {
    const lines: Array<{ level: string; obj: object; msg?: string }> = [];
    const at =
      (level: string) =>
      (obj: object, msg?: string): void => {
        lines.push({ level, obj, msg });
      };
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    return { logger, lines };
  }

  type Mode = 'ok' | 'throw' | 'reject' | 'hang';
  /** A shared store whose behaviour the test switches; it records every call. */
  function fakeShared(initial: Record<string, string> = {}) {
    const data = new Map(Object.entries(initial));
    const state = { mode: 'ok' as Mode };
    const gets: string[][] = [];
    const sets: Array<Array<[string, string]>> = [];
    const misbehave = (): Promise<never> | undefined => {
      if (state.mode === 'throw') throw new Error('shared store exploded');
      if (state.mode === 'reject') return Promise.reject(new Error('ECONNRESET'));
      if (state.mode === 'hang') return new Promise<never>(() => {});
      return undefined;
    };
    const store: MemoStore = {
      getMany(keys) {
        gets.push(keys);
        return misbehave() ?? Promise.resolve(keys.map((k) => data.get(k)));
      },
      setMany(entries) {
        sets.push(entries);
        const bad = misbehave();
        if (bad) return bad;
        for (const [k, v] of entries) data.set(k, v);
        return Promise.resolve();
      },
    };
    return { store, state, gets, sets, data };
  }

  function setup(initial: Record<string, string> = {}) {
    const local = new LruMemoStore({ maxEntries: 100, maxBytes: 1_000_000 });
    const shared = fakeShared(initial);
    const { logger, lines } = capturingLogger();
    const memo = new TieredMemo(local, shared.store, TIMEOUT, logger);
    return { local, shared, memo, lines };
  }

  /** Settles `p` under fake timers: nothing until just before `ms`, settled at `ms`. */
  async function settlesAfter<T>(p: Promise<T>, ms: number): Promise<T> {
    let done = false;
    const tracked = p.finally(() => {
      done = true;
    });
    await jest.advanceTimersByTimeAsync(ms - 1);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    return tracked;
  }

  afterEach(() => {
    jest.useRealTimers();
  });

  test('without a shared store it is the local memo', async () => {
    const local = new LruMemoStore({ maxEntries: 10, maxBytes: 100_000 });
    const memo = new TieredMemo(local, undefined, TIMEOUT, capturingLogger().logger);
    await memo.setMany([['a', 'A']]);
    await expect(memo.getMany(['a', 'b'])).resolves.toEqual(['A', undefined]);
    expect(memo.local).toBe(local);
  });

  test('local hits never touch the shared store', async () => {
    const { local, shared, memo } = setup({ a: 'shared-A' });
    local.setMany([
      ['a', 'local-A'],
      ['b', 'local-B'],
    ]);
    await expect(memo.getMany(['a', 'b'])).resolves.toEqual(['local-A', 'local-B']);
    expect(shared.gets).toEqual([]);
  });

  test('only the misses are asked of the shared store, in order; what it has is returned and refilled locally', async () => {
    const { local, shared, memo } = setup({ b: 'B', d: 'D' });
    local.setMany([['a', 'A']]);
    await expect(memo.getMany(['a', 'b', 'c', 'd'])).resolves.toEqual(['A', 'B', undefined, 'D']);
    expect(shared.gets).toEqual([['b', 'c', 'd']]);
    expect(local.getMany(['b', 'c', 'd'])).toEqual(['B', undefined, 'D']);
    // The refilled keys are now local hits: the next read asks the shared store only for c.
    await expect(memo.getMany(['b', 'c', 'd'])).resolves.toEqual(['B', undefined, 'D']);
    expect(shared.gets).toEqual([['b', 'c', 'd'], ['c']]);
  });

  test('a shared store answering synchronously works the same', async () => {
    const local = new LruMemoStore({ maxEntries: 10, maxBytes: 100_000 });
    const shared: MemoStore = { getMany: (keys) => keys.map((k) => (k === 'x' ? 'X' : undefined)), setMany: () => {} };
    const memo = new TieredMemo(local, shared, TIMEOUT, capturingLogger().logger);
    await expect(memo.getMany(['x', 'y'])).resolves.toEqual(['X', undefined]);
    expect(local.getMany(['x'])).toEqual(['X']);
  });

  test('only string values count: null or other values from the shared store are misses and are not refilled', async () => {
    const local = new LruMemoStore({ maxEntries: 10, maxBytes: 100_000 });
    const shared: MemoStore = { getMany: async () => [null, 42, 'S'] as any, setMany: () => {} };
    const memo = new TieredMemo(local, shared, TIMEOUT, capturingLogger().logger);
    await expect(memo.getMany(['n', 'x', 's'])).resolves.toEqual([undefined, undefined, 'S']);
    expect(local.size).toBe(1);
    expect(local.getMany(['s'])).toEqual(['S']);
  });

  test.each<Mode>(['throw', 'reject'])('a shared store that fails (%s) gives the local result at once, warned once', async (mode) => {
    const { local, shared, memo, lines } = setup({ b: 'B' });
    local.setMany([['a', 'A']]);
    shared.state.mode = mode;
    await expect(memo.getMany(['a', 'b'])).resolves.toEqual(['A', undefined]);
    await expect(memo.getMany(['b'])).resolves.toEqual([undefined]);
    expect(shared.gets).toEqual([['b'], ['b']]);
    expect(lines).toEqual([{ level: 'warn', obj: { err: mode === 'throw' ? 'shared store exploded' : 'ECONNRESET' }, msg: 'shared memo unavailable; using the in-process memo' }]);
  });

  test('a shared store that never answers: the local result comes back after memoTimeoutMs, warned once per outage, recovery logged', async () => {
    jest.useFakeTimers();
    const { local, shared, memo, lines } = setup({ b: 'B' });
    local.setMany([['a', 'A']]);
    shared.state.mode = 'hang';

    await expect(settlesAfter(memo.getMany(['a', 'b']), TIMEOUT)).resolves.toEqual(['A', undefined]);
    expect(lines).toEqual([{ level: 'warn', obj: { err: `shared memo did not answer within ${TIMEOUT} ms` }, msg: 'shared memo unavailable; using the in-process memo' }]);

    // Still down: bounded again, not warned again.
    await expect(settlesAfter(memo.getMany(['b']), TIMEOUT)).resolves.toEqual([undefined]);
    await expect(settlesAfter(memo.setMany([['c', 'C']]), TIMEOUT)).resolves.toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(local.getMany(['c'])).toEqual(['C']);

    // Local hits do not ask it, so they do not declare it back either.
    await expect(memo.getMany(['a'])).resolves.toEqual(['A']);
    expect(lines).toHaveLength(1);

    // It answers again: the value comes through and recovery is logged, once.
    shared.state.mode = 'ok';
    await expect(memo.getMany(['b'])).resolves.toEqual(['B']);
    await expect(memo.getMany(['zz'])).resolves.toEqual([undefined]);
    expect(lines.slice(1)).toEqual([{ level: 'warn', obj: {}, msg: 'shared memo available again' }]);

    // A second outage is warned about again.
    shared.state.mode = 'reject';
    await expect(memo.getMany(['yy'])).resolves.toEqual([undefined]);
    expect(lines).toHaveLength(3);
    expect(lines[2].msg).toBe('shared memo unavailable; using the in-process memo');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a timely answer leaves no timer behind', async () => {
    jest.useFakeTimers();
    const { memo } = setup({ b: 'B' });
    await expect(memo.getMany(['b'])).resolves.toEqual(['B']);
    await memo.setMany([['c', 'C']]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a shared store that answers late is ignored: the miss stays a miss and nothing is refilled', async () => {
    jest.useFakeTimers();
    const local = new LruMemoStore({ maxEntries: 10, maxBytes: 100_000 });
    const shared: MemoStore = { getMany: (keys) => new Promise((resolve) => setTimeout(() => resolve(keys.map(() => 'LATE')), 5 * TIMEOUT)), setMany: () => {} };
    const { logger, lines } = capturingLogger();
    const memo = new TieredMemo(local, shared, TIMEOUT, logger);
    await expect(settlesAfter(memo.getMany(['k']), TIMEOUT)).resolves.toEqual([undefined]);
    await jest.advanceTimersByTimeAsync(5 * TIMEOUT);
    expect(local.getMany(['k'])).toEqual([undefined]);
    expect(lines.map((l) => l.msg)).toEqual(['shared memo unavailable; using the in-process memo']);
  });

  test('setMany writes local always and shared best-effort', async () => {
    const { local, shared, memo, lines } = setup();
    await memo.setMany([
      ['a', 'A'],
      ['b', 'B'],
    ]);
    expect(local.getMany(['a', 'b'])).toEqual(['A', 'B']);
    expect(shared.sets).toEqual([
      [
        ['a', 'A'],
        ['b', 'B'],
      ],
    ]);
    expect(shared.data.get('b')).toBe('B');

    shared.state.mode = 'throw';
    await expect(memo.setMany([['c', 'C']])).resolves.toBeUndefined();
    expect(local.getMany(['c'])).toEqual(['C']);
    expect(shared.sets).toHaveLength(2);
    expect(lines.map((l) => l.msg)).toEqual(['shared memo unavailable; using the in-process memo']);

    // A successful write is also how recovery is noticed.
    shared.state.mode = 'ok';
    await memo.setMany([['d', 'D']]);
    expect(lines.map((l) => l.msg)).toEqual(['shared memo unavailable; using the in-process memo', 'shared memo available again']);
  });

  test('setMany of nothing touches neither store', async () => {
    const { local, shared, memo } = setup();
    await memo.setMany([]);
    expect(shared.sets).toEqual([]);
    expect(local.size).toBe(0);
  });

  // Regression (found by this file): the bound applied only to `p instanceof Promise`, so a promise
  // from another realm or a library thenable was awaited without a timeout; any thenable is bounded now.
  test('a shared store returning a promise from another realm is bounded by memoTimeoutMs too', async () => {
    jest.useFakeTimers();
    const local = new LruMemoStore({ maxEntries: 10, maxBytes: 100_000 });
    const foreignNever = vm.runInNewContext('new Promise(() => {})') as Promise<(string | undefined)[]>;
    const shared: MemoStore = { getMany: () => foreignNever, setMany: () => {} };
    const memo = new TieredMemo(local, shared, TIMEOUT, capturingLogger().logger);
    let done = false;
    void memo.getMany(['k']).then(() => {
      done = true;
    });
    await jest.advanceTimersByTimeAsync(TIMEOUT * 10);
    expect(done).toBe(true);
  });
});
