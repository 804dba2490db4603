/**
 * headroomRetrieval's REST routes over a real HTTP server, on express 5 and express 4: the Headroom
 * service's shape, queries, every refusal in OpenAI's error shape, owner scoping that does not tell
 * whether a hash exists, and the service's own original first with the stored one as fallback.
 */
import http from 'node:http';
import express5 from 'express';
import { ANY_OWNER, contentHash, markerHashes, type RetrievalRecord, type RetrievalStore } from '../../lib/ccr';
import { closeSignal } from '../../lib/retrieval-http';
import { lookup } from '../../lib/retrieval-lookup';
import { filterOriginal } from '../../lib/retrieval-query';
import { headroomRetrieval, type HeadroomRetrieval } from '../../lib/retrieval-router';
import type { HeadroomRetrievalOptions } from '../../lib/retrieval-options';
import { LruRetrievalStore } from '../../lib/retrieval-store';
import { captureLogger, quiet } from '../kit/app';
import { listenOnLoopback } from '../kit/listen';
import { startStandIn, type StandIn } from '../kit/standin';

const express4 = require('express4') as typeof express5;

const ROWS = [
  { id: 1, status: 'refunded', customer: 'Ada' },
  { id: 2, status: 'open', customer: 'Alan' },
  { id: 3, status: 'refunded', customer: 'Grace' },
];
const ORIGINAL = JSON.stringify(ROWS, null, 2);
const HASH = contentHash(ORIGINAL);
const rec = (original: string, extra: Partial<RetrievalRecord> = {}): RetrievalRecord => ({ original, source: 'local', createdAt: Date.now(), ...extra });

/** The owner is whatever `x-owner` says, `x-all` reads everything; no header → refused. */
const byHeader: HeadroomRetrievalOptions['authorize'] = (req) => {
  if (req.headers['x-all']) return { all: true };
  const owner = req.headers['x-owner'];
  return typeof owner === 'string' ? { owner } : false;
};

interface Server {
  url: string;
  router: HeadroomRetrieval;
  close(): Promise<void>;
}
const servers: Server[] = [];

async function serve(major: 4 | 5, opts: Partial<HeadroomRetrievalOptions> & { store: HeadroomRetrievalOptions['store'] }, setup?: (app: any) => void): Promise<Server> {
  const app = (major === 4 ? express4 : express5)();
  setup?.(app);
  const router = headroomRetrieval({ mcp: false, logger: quiet, ...opts });
  app.use(router);
  const bound = await listenOnLoopback(http.createServer(app));
  const s = { url: bound.url, router, close: async () => (await bound.close(), await router.close()) };
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

interface Res {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}
async function call(url: string, init?: RequestInit): Promise<Res> {
  const r = await fetch(url, init);
  const text = await r.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, headers: r.headers, text, body };
}
const get = (url: string, headers: Record<string, string> = {}) => call(url, { headers });
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe.each([5, 4] as const)('REST routes on express %i', (major) => {
  let store: LruRetrievalStore;
  beforeEach(async () => {
    store = new LruRetrievalStore();
    await store.put(HASH, rec(ORIGINAL, { toolName: 'list_tickets', originalItemCount: 3, compressedItemCount: 1 }), ANY_OWNER);
  });

  test('GET /v1/retrieve/:hash from loopback (the default authorize): the original in Headroom’s shape, counted', async () => {
    const s = await serve(major, { store });
    const res = await get(`${s.url}/v1/retrieve/${HASH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      hash: HASH,
      original_content: ORIGINAL,
      original_tokens: Math.ceil(ORIGINAL.length / 3),
      original_item_count: 3,
      compressed_item_count: 1,
      tool_name: 'list_tickets',
      retrieval_count: 1,
    });
    expect((await get(`${s.url}/v1/retrieve/${HASH}`)).body.retrieval_count).toBe(2);
  });

  test('GET ?query= and POST {hash, query}: only the matching rows, with counts', async () => {
    const s = await serve(major, { store });
    const a = (await get(`${s.url}/v1/retrieve/${HASH}?query=REFUNDED`)).body;
    const b = (await post(`${s.url}/v1/retrieve`, { hash: HASH, query: 'refunded' })).body;
    for (const body of [a, b]) {
      expect(JSON.parse(body.original_content)).toEqual([ROWS[0], ROWS[2]]);
      expect(body).toMatchObject({ matched_count: 2, total_count: 3, hash: HASH, original_tokens: Math.ceil(ORIGINAL.length / 3) });
    }
    expect(a.query).toBe('REFUNDED');
    const whole = (await post(`${s.url}/v1/retrieve`, { hash: HASH })).body;
    expect(whole.original_content).toBe(ORIGINAL);
    expect(whole.query).toBeUndefined();
  });

  test('400 invalid_request: bad hash, bad query, bad body', async () => {
    const s = await serve(major, { store });
    const cases: Array<Promise<Res>> = [
      get(`${s.url}/v1/retrieve/${HASH.toUpperCase()}`),
      get(`${s.url}/v1/retrieve/abc`),
      get(`${s.url}/v1/retrieve/${'a'.repeat(25)}`),
      get(`${s.url}/v1/retrieve/${HASH}?query=${'x'.repeat(1001)}`),
      get(`${s.url}/v1/retrieve/${HASH}?query=a&query=b`),
      get(`${s.url}/v1/retrieve/${HASH}?query=${encodeURIComponent(Array.from({ length: 33 }, (_, i) => `t${i}`).join(' '))}`),
      post(`${s.url}/v1/retrieve`, { query: 'x' }),
      post(`${s.url}/v1/retrieve`, { hash: HASH, query: 5 }),
      post(`${s.url}/v1/retrieve`, { hash: 12 }),
      post(`${s.url}/v1/retrieve`, '{"hash": oops'),
      post(`${s.url}/v1/retrieve`, '[1]'),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(400);
      const body = res.body;
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
      expect(typeof body.error.message).toBe('string');
    }
  });

  test('413 past the 64 kB body limit; 405 with Allow on other methods; other paths fall through', async () => {
    const s = await serve(major, { store });
    const big = await post(`${s.url}/v1/retrieve`, { hash: HASH, pad: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('request_too_large');
    const put = await call(`${s.url}/v1/retrieve/${HASH}`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect((await get(`${s.url}/v1/retrieve/${HASH}/more`)).status).toBe(404);
    expect((await get(`${s.url}/elsewhere`)).status).toBe(404);
  });

  test('404 for an unknown hash; 401 (authentication_error) for a refused caller', async () => {
    const s = await serve(major, { store });
    const missing = await get(`${s.url}/v1/retrieve/${contentHash('never kept')}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { message: 'unknown or expired hash', type: 'invalid_request_error', param: null, code: 'not_found' } });
    // Through a proxy, or under a name that is not loopback (DNS rebinding): not a local caller.
    for (const headers of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }] as Record<string, string>[]) {
      const res = await get(`${s.url}/v1/retrieve/${HASH}`, headers);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'unauthorized' });
    }
    const rebound = await rawGet(s.url, `/v1/retrieve/${HASH}`, { host: 'evil.example:80' });
    expect(rebound.status).toBe(401);
    const custom = await serve(major, { store, authorize: byHeader });
    expect((await get(`${custom.url}/v1/retrieve/${HASH}`)).status).toBe(401);
  });

  test('owner scoping: another owner gets the very bytes of an unknown hash', async () => {
    const mine = 'alice’s tool output\nline 2';
    const h = contentHash(mine);
    await store.put(h, rec(mine), 'alice');
    const s = await serve(major, { store, authorize: byHeader });
    expect((await get(`${s.url}/v1/retrieve/${h}`, { 'x-owner': 'alice' })).body.original_content).toBe(mine);
    expect((await get(`${s.url}/v1/retrieve/${h}`, { 'x-all': '1' })).body.original_content).toBe(mine);
    const theirs = await get(`${s.url}/v1/retrieve/${h}`, { 'x-owner': 'bob' });
    const unknown = await get(`${s.url}/v1/retrieve/${contentHash('nothing')}`, { 'x-owner': 'bob' });
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(theirs.text).toBe(unknown.text);
    expect(theirs.headers.get('content-length')).toBe(unknown.headers.get('content-length'));
    // Kept with no owner: any authorised reader.
    expect((await get(`${s.url}/v1/retrieve/${HASH}`, { 'x-owner': 'bob' })).status).toBe(200);
  });

  test('an authorize that throws or answers nonsense: 500 in the error shape, logged, the server lives on', async () => {
    const { lines, logger } = captureLogger();
    const s = await serve(major, {
      store,
      logger,
      authorize: (req) => {
        if (req.headers['x-mode'] === 'throw') throw new Error('db down');
        if (req.headers['x-mode'] === 'reject') return Promise.reject(new Error('db down'));
        return { owner: '' } as never;
      },
    });
    for (const mode of ['throw', 'reject', 'nonsense']) {
      const res = await get(`${s.url}/v1/retrieve/${HASH}`, { 'x-mode': mode });
      expect(res.status).toBe(500);
      expect(res.body.error).toMatchObject({ type: 'api_error', code: 'authorize_failed' });
    }
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(3);
  });

  test('a store that fails: 503, logged without content', async () => {
    const { lines, logger } = captureLogger();
    const broken = { put: async () => {}, get: async () => Promise.reject(new Error('ECONNREFUSED')) };
    const s = await serve(major, { store: broken, logger });
    const res = await get(`${s.url}/v1/retrieve/${HASH}`);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('store_unavailable');
    expect(JSON.stringify(lines)).not.toContain(HASH);
  });

  test('behind express.json(), mounted under a prefix', async () => {
    const s = await serve(major, { store, retrievePath: '/headroom/retrieve' }, (app) => app.use(express5.json()));
    const res = await post(`${s.url}/headroom/retrieve/`, { hash: HASH, query: 'grace' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.original_content)).toEqual([ROWS[2]]);
    const app = (major === 4 ? express4 : express5)();
    const router = headroomRetrieval({ store, mcp: false, logger: quiet });
    app.use('/tools', router);
    const bound = await listenOnLoopback(http.createServer(app));
    servers.push({ url: bound.url, router, close: bound.close });
    expect((await get(`${bound.url}/tools/v1/retrieve/${HASH}`)).status).toBe(200);
  });
});

describe.each([5, 4] as const)('a Headroom service’s own hashes, on express %i', (major) => {
  let standIn: StandIn;
  let store: LruRetrievalStore;
  const SERVICE_HASH = 'fedcba9876543210fedcba98';
  const WHOLE = 'the whole tool output the service compressed\nrow a\nrow b refunded';
  const EXACT = 'row b refunded\nrow c refunded';
  beforeEach(async () => {
    standIn = await startStandIn({ token: 'svc-key' });
    store = new LruRetrievalStore();
    await store.put(SERVICE_HASH, rec(WHOLE, { source: 'service' }), ANY_OWNER);
    standIn.originals.set(SERVICE_HASH, EXACT);
  });
  afterEach(() => standIn.close());

  test('the service’s exact original first, with its key and never the caller’s Authorization', async () => {
    const s = await serve(major, { store, apiBase: standIn.url, apiKey: 'svc-key', authorize: () => ({ all: true }) });
    const res = await get(`${s.url}/v1/retrieve/${SERVICE_HASH}`, { authorization: 'Bearer caller-secret' });
    const body = res.body;
    expect(body.original_content).toBe(EXACT);
    expect(body).toMatchObject({ original_item_count: 2, compressed_item_count: 1, retrieval_count: 1 });
    expect(standIn.retrieveCalls).toHaveLength(1);
    expect(standIn.retrieveCalls[0].headers.authorization).toBe('Bearer svc-key');
    expect(JSON.stringify(standIn.retrieveCalls[0].headers)).not.toContain('caller-secret');
    // A query filters the service's original.
    const q = (await post(`${s.url}/v1/retrieve`, { hash: SERVICE_HASH, query: 'row c' })).body;
    expect(q).toMatchObject({ original_content: 'row c refunded', matched_count: 1, total_count: 2 });
  });

  test('service 404, then stopped: the stored original', async () => {
    const { lines, logger } = captureLogger();
    const s = await serve(major, { store, apiBase: standIn.url, apiKey: 'svc-key', logger });
    standIn.originals.clear();
    expect((await get(`${s.url}/v1/retrieve/${SERVICE_HASH}`)).body.original_content).toBe(WHOLE);
    await standIn.close();
    expect((await get(`${s.url}/v1/retrieve/${SERVICE_HASH}`)).body.original_content).toBe(WHOLE);
    expect(lines.some((l) => l.level === 'warn')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('tool output');
  });

  test('a service that does not answer: the stored original after timeoutMs', async () => {
    const hang = await listenOnLoopback(http.createServer(() => {}));
    try {
      const s = await serve(major, { store, apiBase: hang.url, timeoutMs: 200 });
      const started = Date.now();
      expect((await get(`${s.url}/v1/retrieve/${SERVICE_HASH}`)).body.original_content).toBe(WHOLE);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await hang.close();
    }
  });

  test('a hash with no record: asked of the service only for a caller who may read everything', async () => {
    const other = 'aaaaaaaaaaaabbbbbbbbbbbb';
    standIn.originals.set(other, 'kept by the service only');
    const s = await serve(major, { store, apiBase: standIn.url, apiKey: 'svc-key', authorize: byHeader });
    expect((await get(`${s.url}/v1/retrieve/${other}`, { 'x-owner': 'bob' })).status).toBe(404);
    expect(standIn.retrieveCalls).toHaveLength(0);
    expect((await get(`${s.url}/v1/retrieve/${other}`, { 'x-all': '1' })).body.original_content).toBe('kept by the service only');
    expect((await get(`${s.url}/v1/retrieve/${'c'.repeat(24)}`, { 'x-all': '1' })).status).toBe(404);
  });
});

/** A GET with headers fetch will not send as given (Host). */
function rawGet(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the stand-in’s retrieve routes (test kit)', () => {
  test("'markers' mode: a hash= marker in the text while ccr_hashes is empty; the router serves its exact original", async () => {
    const standIn = await startStandIn({ mode: 'markers' });
    try {
      const output = Array.from({ length: 40 }, (_, i) => `line ${i} ${i % 10 === 0 ? 'refunded' : 'open'}`).join('\n');
      const reply = await post(`${standIn.url}/v1/compress`, {
        model: 'm',
        messages: [
          { role: 'tool', tool_call_id: 't', content: output },
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      });
      expect(reply.body.ccr_hashes).toEqual([]);
      const compressed: string = reply.body.messages[0].content;
      const [hash] = markerHashes(compressed);
      expect(compressed).toMatch(/\[40 items compressed to 1\. Retrieve more: hash=[0-9a-f]{24}\]$/);
      expect(hash).not.toBe(contentHash(output));
      expect((await post(`${standIn.url}/v1/retrieve`, { hash })).body.original_content).toBe(output);
      expect((await get(`${standIn.url}/v1/retrieve/${'0'.repeat(24)}`)).status).toBe(404);

      const store = new LruRetrievalStore();
      await store.put(hash, rec(output, { source: 'service' }), ANY_OWNER);
      const s = await serve(5, { store, apiBase: standIn.url });
      const r = await get(`${s.url}/v1/retrieve/${hash}?query=refunded`);
      expect(r.body).toMatchObject({ matched_count: 4, total_count: 40, original_item_count: 40 });
      expect(standIn.retrieveCalls).toHaveLength(3); // two from this test, one from the router
    } finally {
      await standIn.close();
    }
  });
});

describe('a query over a large original', () => {
  /** A ~7.5 MB JSON original, nested as `{"meta":…,"data":{"tickets":[…]}}`, and its hash. */
  const tickets = Array.from({ length: 45_000 }, (_, i) => ({
    id: i,
    status: i % 7 === 0 ? 'refunded' : 'open',
    customer: { name: `Customer ${i}`, email: `c${i}@example.com` },
    note: `ticket ${i}: "quoted", [bracketed] {braced} é 日 😀`,
    tags: [{ t: i % 3 }],
  }));
  const big = JSON.stringify({ meta: { tags: [{ t: 'refunded' }] }, data: { tickets } });
  const bigHash = contentHash(big);

  test('answers the synchronous filter’s very bytes, while the server goes on answering other requests', async () => {
    const store = new LruRetrievalStore({ maxBytes: 256 * 1024 * 1024 });
    await store.put(bigHash, rec(big), ANY_OWNER);
    // The server's side: from the lookup's store read to the answer, which requests were answered meanwhile.
    let filtering = false;
    let pingsDuring = 0;
    let reached!: () => void;
    const started = new Promise<void>((resolve) => (reached = resolve));
    const watched: RetrievalStore = { put: (h, r, o) => store.put(h, r, o), get: (h, o) => ((filtering = true), reached(), store.get(h, o)) };
    const s = await serve(5, { store: watched }, (app) => {
      app.get('/ping', (_req: unknown, res: http.ServerResponse) => {
        if (filtering) pingsDuring++;
        res.end('pong');
      });
      app.use((_req: unknown, res: http.ServerResponse, next: () => void) => {
        const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
        res.end = ((...args: unknown[]) => ((filtering = false), end(...args))) as typeof res.end;
        next();
      });
    });
    expect(big.length).toBeGreaterThan(6 * 1024 * 1024);

    let answered = false;
    const query = 'refunded "[bracketed] {braced}"';
    const retrieval = get(`${s.url}/v1/retrieve/${bigHash}?query=${encodeURIComponent(query)}`).finally(() => (answered = true));
    await started;
    while (!answered) await get(`${s.url}/ping`);
    // Ordering only, nothing timed: the synchronous filter answered no other request from the store read to its answer.
    expect(pingsDuring).toBeGreaterThan(0);

    const r = await retrieval;
    const expected = filterOriginal(big, query);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ matched_count: Math.ceil(45_000 / 7), total_count: 45_000 });
    expect(r.body.original_content).toBe(expected.content);
  });

  test('closeSignal: a lookup for a client that went away stops with an AbortError; an answered request never aborts', async () => {
    const store = new LruRetrievalStore({ maxBytes: 256 * 1024 * 1024 });
    await store.put(bigHash, rec(big), ANY_OWNER);
    let outcome!: Promise<string>;
    let finished!: Promise<boolean>;
    let reached!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    const s = await serve(5, { store }, (app) => {
      app.get('/gone', (_req: unknown, res: http.ServerResponse) => {
        const signal = closeSignal(res);
        const closed = new Promise((resolve) => res.once('close', resolve));
        // The store answers once the client is gone: the filter starts for nobody.
        const gated: RetrievalStore = { put: (h, r, o) => store.put(h, r, o), get: async (h, o) => (await closed, store.get(h, o)) };
        outcome = lookup({ store: gated, logger: quiet }, bigHash, { all: true }, 'refunded', signal).then(
          () => 'answered',
          (err: Error) => err.name,
        );
        reached();
      });
      app.get('/fine', (_req: unknown, res: http.ServerResponse) => {
        const signal = closeSignal(res);
        finished = new Promise((resolve) => res.once('close', () => setImmediate(() => resolve(signal.aborted))));
        res.end('ok');
      });
    });
    const controller = new AbortController();
    const gone = fetch(`${s.url}/gone`, { signal: controller.signal }).catch(() => 'aborted');
    await arrived;
    controller.abort();
    expect(await gone).toBe('aborted');
    expect(await outcome).toBe('AbortError');

    expect((await get(`${s.url}/fine`)).text).toBe('ok');
    expect(await finished).toBe(false);
  });
});
