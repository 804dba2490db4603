/**
 * Two gateway instances on one real Redis (and one key store): what one compressed, the other
 * serves, over REST and over MCP, to the key that compressed it and to no other. A client's MCP
 * server URL may point at any instance behind a load balancer.
 */
import { redisBinary, startRedis, type RedisServer } from '../kit/redis';
import { startGatewayStack, type GatewayStack } from './helpers';
import { REFUNDED_IDS, compressOrders, getRetrieve, mcpClient, mcpText, ordersExport } from './retrieval-helpers';

const haveRedis = redisBinary() !== undefined;
if (!haveRedis && process.env.CI) throw new Error('redis-server must be installed under CI (.ci/run installs it)');
if (!haveRedis) test.skip('redis-server is absent (apt-get install redis-server): the shared retrieval store is not tested here', () => {});

/** Until the instance's store answers: its Redis client connects after the gateway is built (and fails fast meanwhile). */
async function storeReady(stack: GatewayStack): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await stack.gateway.headroom.retrievalStore.get('000000000000');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('the retrieval store on Redis never answered');
}

(haveRedis ? describe : describe.skip)('two instances sharing Redis', () => {
  let redis: RedisServer;
  let one: GatewayStack;
  let two: GatewayStack;

  beforeAll(async () => {
    redis = await startRedis();
    one = await startGatewayStack({ compression: 'embedded', config: { redisUrl: redis.url } });
    // The same key store (one SQLite file): a key made on one instance works on the other.
    two = await startGatewayStack({ compression: 'embedded', dbPath: one.dbPath, config: { redisUrl: redis.url } });
    await Promise.all([storeReady(one), storeReady(two)]);
  });
  afterAll(async () => {
    // `two` first: `one` removes the directory holding the shared database file.
    await two?.close();
    await one?.close();
    await redis?.stop();
  });

  test('compressed on one, retrieved on the other (REST and MCP), by that key only', async () => {
    const { key } = await one.generateKey({ key_alias: 'fleet-a', guardrails: ['headroom-compression'] });
    const other = (await one.generateKey({ key_alias: 'fleet-b', guardrails: ['headroom-compression'] })).key;
    const original = ordersExport();
    const hash = await compressOrders(one, key, original);

    const rest = await getRetrieve(two.url, hash, key);
    expect(rest.status).toBe(200);
    expect(JSON.parse(rest.text).original_content).toBe(original);
    expect(await getRetrieve(two.url, hash, other)).toEqual(await getRetrieve(two.url, 'abcdef0123456789abcdef01', other));

    const client = await mcpClient(two.url, key);
    try {
      const found = await client.callTool({ name: 'headroom_retrieve', arguments: { hash, query: 'refunded' } });
      expect(found.isError).toBeFalsy();
      for (const id of REFUNDED_IDS) expect(mcpText(found)).toContain(`"id":"${id}"`);
    } finally {
      await client.close();
    }
    // One count in Redis for every lookup, whichever instance made it (the other key's refused one included).
    expect(JSON.parse((await getRetrieve(one.url, hash, key)).text).retrieval_count).toBe(4);
  });
});
