/**
 * The gateway serves the originals behind `hash=` markers itself, at `/v1/retrieve` (REST) and
 * `/mcp` (the `headroom_retrieve` tool), per key: real gateway, real upstream stand-in, loopback.
 *
 * - what key A's request compressed, A reads (GET, POST, with and without a query, and over MCP with
 *   the official SDK's client); key B gets the very bytes an unknown hash gets; the master key reads
 *   everything; no key is 401; nothing of it reaches the upstream;
 * - a store with a short time to live (injected, on its own clock): gone after it, as unknown;
 * - a Headroom service that writes markers but reports no `ccr_hashes`: the gateway serves the
 *   service's original while it is up, and the whole tool output it kept once it is gone.
 */
import { LruRetrievalStore } from 'express-headroom';
import { standInHash } from '../kit/standin';
import { MASTER_KEY, startGatewayStack, type GatewayStack } from './helpers';
import { REFUNDED_IDS, compressOrders, getRetrieve, mcpClient, mcpText, orders, ordersExport, postRetrieve } from './retrieval-helpers';

const UNKNOWN = 'abcdef0123456789abcdef01';
const COMPRESSING = { guardrails: ['headroom-compression'] };

/** The refunded rows, as the export prints them (a query returns these lines verbatim). */
const refundedLines = orders()
  .filter((o) => o.status === 'refunded')
  .map((o) => JSON.stringify(o));

function expectOnlyRefunded(text: string): void {
  for (const line of refundedLines) expect(text).toContain(line);
  expect(text).not.toContain('"status":"shipped"');
  expect(text).not.toContain('"status":"pending"');
}

describe('per-key retrieval (embedded compressor)', () => {
  let stack: GatewayStack;
  let keyA: string;
  let keyB: string;
  let hash: string;
  const original = ordersExport();

  beforeAll(async () => {
    stack = await startGatewayStack({ compression: 'embedded' });
    keyA = (await stack.generateKey({ key_alias: 'team-a', ...COMPRESSING })).key;
    keyB = (await stack.generateKey({ key_alias: 'team-b', ...COMPRESSING })).key;
    hash = await compressOrders(stack, keyA);
  });
  afterAll(async () => stack?.close());

  test('key A reads its original: GET and POST, whole and filtered by a query', async () => {
    const whole = await getRetrieve(stack.url, hash, keyA);
    expect(whole.status).toBe(200);
    expect(JSON.parse(whole.text)).toMatchObject({ hash, original_content: original, tool_name: 'Bash' });
    const posted = await postRetrieve(stack.url, { hash }, keyA);
    expect(posted.status).toBe(200);
    expect(posted.json.original_content).toBe(original);

    const filtered = await postRetrieve(stack.url, { hash, query: 'refunded' }, keyA);
    expect(filtered.status).toBe(200);
    expect(filtered.json).toMatchObject({ query: 'refunded', matched_count: REFUNDED_IDS.length, total_count: 220 });
    expectOnlyRefunded(filtered.json.original_content);
    const viaGet = await getRetrieve(stack.url, hash, keyA, 'refunded');
    expect(JSON.parse(viaGet.text).original_content).toBe(filtered.json.original_content);
  });

  test('key B gets the same 404 as an unknown hash; the master key reads it; no key or a wrong key is 401', async () => {
    const unknown = await getRetrieve(stack.url, UNKNOWN, keyA);
    expect(unknown.status).toBe(404);
    for (const attempt of [await getRetrieve(stack.url, hash, keyB), await getRetrieve(stack.url, hash, keyB, 'refunded'), await postRetrieve(stack.url, { hash }, keyB)]) {
      expect(attempt).toEqual({ status: 404, text: unknown.text, ...('json' in attempt ? { json: JSON.parse(unknown.text) } : {}) });
    }
    expect(JSON.parse(unknown.text).error).toMatchObject({ code: 'not_found' });

    const master = await getRetrieve(stack.url, hash, MASTER_KEY);
    expect(master.status).toBe(200);
    expect(JSON.parse(master.text).original_content).toBe(original);

    for (const key of [undefined, 'sk-not-a-key-of-this-gateway']) {
      const refused = await getRetrieve(stack.url, hash, key);
      expect(refused.status).toBe(401);
      expect(refused.text).not.toContain('ord_');
      expect((await postRetrieve(stack.url, { hash }, key)).status).toBe(401);
    }
    // Served by the gateway, never proxied.
    expect(stack.upstream.requests.filter((r) => /retrieve|mcp/.test(r.path))).toEqual([]);
  });

  test('what the master key compressed is the master key’s alone', async () => {
    // The master key has no guardrails: it opts in per request (LiteLLM's body field).
    const masterHash = await compressOrders(stack, MASTER_KEY, ordersExport(orders(230)), { guardrails: ['headroom-compression'] });
    expect((await getRetrieve(stack.url, masterHash, MASTER_KEY)).status).toBe(200);
    expect(await getRetrieve(stack.url, masterHash, keyA)).toEqual(await getRetrieve(stack.url, UNKNOWN, keyA));
  });

  test('an MCP client on the SDK: exactly headroom_retrieve; callTool returns the original rows; key B is told "unknown"', async () => {
    const a = await mcpClient(stack.url, keyA);
    const b = await mcpClient(stack.url, keyB);
    try {
      expect((await a.listTools()).tools.map((t) => t.name)).toEqual(['headroom_retrieve']);
      const whole = await a.callTool({ name: 'headroom_retrieve', arguments: { hash } });
      expect(whole.isError).toBeFalsy();
      expect(mcpText(whole)).toBe(original);
      const some = await a.callTool({ name: 'headroom_retrieve', arguments: { hash, query: 'refunded' } });
      expect(mcpText(some)).toMatch(new RegExp(`^\\[${REFUNDED_IDS.length} of 220 \\w+ match "refunded"\\]\\n`));
      expectOnlyRefunded(mcpText(some));

      const theirs = await b.callTool({ name: 'headroom_retrieve', arguments: { hash } });
      const unknown = await b.callTool({ name: 'headroom_retrieve', arguments: { hash: UNKNOWN } });
      expect(theirs).toEqual(unknown);
      expect(theirs.isError).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
    const anonymous = await fetch(`${stack.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(anonymous.status).toBe(401);
  });
});

describe('expiry', () => {
  let stack: GatewayStack;
  let clock = 1_000_000;
  afterAll(async () => stack?.close());

  test('past the store’s time to live a hash is 404, with the bytes of an unknown one', async () => {
    const store = new LruRetrievalStore({ ttlMs: 60_000, now: () => clock });
    stack = await startGatewayStack({ compression: 'embedded', config: { headroom: { retrievalStore: store } } });
    expect(stack.gateway.headroom.retrievalStore).toBe(store);
    expect(stack.gateway.retrieval.store).toBe(store);
    const { key } = await stack.generateKey(COMPRESSING);
    const hash = await compressOrders(stack, key);
    clock += 59_000;
    expect((await getRetrieve(stack.url, hash, key)).status).toBe(200);
    clock += 60_001;
    const gone = await getRetrieve(stack.url, hash, key);
    expect(gone).toEqual(await getRetrieve(stack.url, UNKNOWN, key));
    expect(gone.status).toBe(404);
  });
});

describe('a Headroom service that writes markers and reports no ccr_hashes', () => {
  let stack: GatewayStack;
  afterAll(async () => stack?.close());

  test('the service’s original while it is up; the kept whole output once it is gone; per key either way', async () => {
    stack = await startGatewayStack();
    const service = stack.service!;
    service.mode = 'markers';
    const keyA = (await stack.generateKey(COMPRESSING)).key;
    const keyB = (await stack.generateKey(COMPRESSING)).key;
    const original = ordersExport();
    const hash = await compressOrders(stack, keyA, original);
    // The service's own hash, not this package's content hash.
    expect(hash).toBe(standInHash(original));

    // Its exact original is the service's to give: a marked copy shows where the answer came from.
    service.originals.set(hash, `${original}\n(from the service)`);
    const asked = service.retrieveCalls.length;
    const up = await getRetrieve(stack.url, hash, keyA);
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text).original_content).toBe(`${original}\n(from the service)`);
    expect(service.retrieveCalls.length).toBe(asked + 1);

    // Not A's key: 404 before the service is asked.
    expect(await getRetrieve(stack.url, hash, keyB)).toEqual(await getRetrieve(stack.url, UNKNOWN, keyB));
    expect(service.retrieveCalls.length).toBe(asked + 1);
    // The master key may also read what only the service keeps.
    service.originals.set(UNKNOWN, 'only at the service');
    expect(JSON.parse((await getRetrieve(stack.url, UNKNOWN, MASTER_KEY)).text).original_content).toBe('only at the service');

    await service.close();
    const down = await postRetrieve(stack.url, { hash, query: 'refunded' }, keyA);
    expect(down.status).toBe(200);
    expectOnlyRefunded(down.json.original_content);
    expect(JSON.parse((await getRetrieve(stack.url, hash, keyA)).text).original_content).toBe(original);
  });
});

describe('the key store unreachable', () => {
  let stack: GatewayStack;
  afterAll(async () => stack?.close());

  test('a virtual key gets 503 key_store_unavailable (retry later), never a guess; the master key needs no store', async () => {
    stack = await startGatewayStack({ compression: 'embedded' });
    const { key } = await stack.generateKey(COMPRESSING);
    await stack.gateway.db.close();
    const down = await getRetrieve(stack.url, UNKNOWN, key);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text).error).toMatchObject({ code: 'key_store_unavailable' });
    expect((await getRetrieve(stack.url, UNKNOWN, MASTER_KEY)).status).toBe(404);
  });
});
