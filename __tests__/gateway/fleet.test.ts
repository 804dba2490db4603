/**
 * Several gateway instances on one Postgres and one Redis (issue 15). Real servers on loopback: a
 * Postgres cluster and a redis-server started by the tests (kit/postgres.ts, kit/redis.ts).
 *
 * - the same key and spend-log behaviour on SQLite and on Postgres (one code path, db.ts);
 * - two `npm run gateway` processes sharing Postgres and Redis: a key made on A works on B, revoked
 *   on B it is refused on A at once, a Claude Code session alternating A/B forwards each turn's
 *   messages as an exact prefix of the next, and one spend log holds both instances' rows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openDb } from '../../examples/gateway/db';
import { KEYS_MIGRATION } from '../../examples/gateway/keys';
import { SPEND_MIGRATION } from '../../examples/gateway/spend';
import { startUpstreamStandIn, type UpstreamStandIn } from '../../examples/gateway/upstream-standin';
import { claudeTurns } from '../kit/fixtures';
import { freePort, postgresBinDir, startPostgres, type PostgresCluster } from '../kit/postgres';
import { redisBinary, startRedis, type RedisServer } from '../kit/redis';
import { ANTHROPIC_KEY, MASTER_KEY, openaiToolBody, post, startGatewayStack, type GatewayStack } from './helpers';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');
const havePostgres = postgresBinDir() !== undefined;
const haveRedis = redisBinary() !== undefined;
const master = { authorization: `Bearer ${MASTER_KEY}` };

if (!havePostgres) test.skip('Postgres binaries are absent (apt-get install postgresql; .ci/run installs it): the Postgres store is not tested here', () => {});

const pgDescribe = havePostgres ? describe : describe.skip;

let pg: PostgresCluster;
beforeAll(async () => {
  if (havePostgres) pg = await startPostgres();
});
afterAll(() => pg?.destroy());

pgDescribe.each(['sqlite', 'postgres'] as const)('keys and the spend log on %s', (store) => {
  let stack: GatewayStack;
  beforeAll(async () => {
    stack = await startGatewayStack({ compression: 'embedded', config: store === 'postgres' ? { databaseUrl: pg.url } : {} });
    await stack.gateway.ready;
  });
  afterAll(async () => stack?.close());

  test('the store in use is the one asked for; the schema is versioned', async () => {
    expect(stack.gateway.store).toMatch(store === 'postgres' ? /^postgres 127\.0\.0\.1:\d+\/gateway$/ : /^sqlite .*gateway\.db$/);
    const versions = await stack.gateway.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.map((v) => Number(v.version))).toEqual([1, 2]);
  });

  test('generate → use → update → delete: 200, 403 on a model outside the list, 401 once deleted', async () => {
    const alias = `param-${store}`;
    const { key, token } = await stack.generateKey({ key_alias: alias, guardrails: ['headroom-compression'], models: ['gpt-4o'] });
    const ok = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
    expect((await post(`${stack.url}/key/generate`, { key_alias: alias }, master)).status).toBe(400);
    expect((await post(`${stack.url}/key/update`, { key: token, models: ['claude-*'] }, master)).status).toBe(200);
    expect((await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}` })).status).toBe(403);
    expect((await post(`${stack.url}/key/delete`, { keys: [key] }, master)).json).toEqual({ deleted_keys: [key] });
    expect((await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}` })).status).toBe(401);
    expect((await post(`${stack.url}/key/delete`, { keys: [key] }, master)).status).toBe(404);

    // The spend log: both rows of the key, newest first, on /spend/logs and on the admin UI.
    await stack.flushSpend();
    const logs = (await (await fetch(`${stack.url}/spend/logs?key_alias=${alias}`, { headers: master })).json()) as Array<Record<string, unknown>>;
    expect(logs.map((r) => r.status)).toEqual([403, 200]);
    expect(logs[1]).toMatchObject({ headroom_status: 'compressed', stream: false, model: 'gpt-4o', key_alias: alias });
    expect(logs[1].tokens_saved).toBeGreaterThan(0);
    const ui = await fetch(`${stack.url}/ui?key_alias=${alias}`, { headers: master });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain(String(logs[0].request_id));
    const totals = await stack.gateway.spend.totals({ since: 0, key_alias: alias });
    expect(totals).toMatchObject({ requests: 2, compressed: 1, compress_calls: 1 });
    expect(typeof totals.compress_p50_ms).toBe('number');
  });
});

pgDescribe('migrations', () => {
  test('four instances migrating a fresh Postgres database at once: one applies the schema, the others find it done', async () => {
    const admin = openDb({ url: pg.url, path: '' });
    await admin.exec('CREATE DATABASE fresh_migrate');
    await admin.close();
    const url = pg.url.replace(/\/gateway$/, '/fresh_migrate');
    const dbs = Array.from({ length: 4 }, () => openDb({ url, path: '' }));
    try {
      const applied = await Promise.all(dbs.map((db) => migrate(db, [KEYS_MIGRATION, SPEND_MIGRATION])));
      expect(applied.map((a) => a.join(',')).sort()).toEqual(['', '', '', '1,2']);
      expect(await dbs[0].query('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual([
        { version: 1, name: 'keys' },
        { version: 2, name: 'spend_logs' },
      ]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});

/** `npm run gateway` as a user starts it; resolves once it listens. */
async function startGatewayProcess(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess; output: () => string; stop(): Promise<number | null> }> {
  const port = await freePort();
  const proc = spawn(TS_NODE, ['--transpile-only', 'examples/gateway/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MASTER_KEY, PORT: String(port), ...env },
  });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  let done = false;
  void exited.then(() => (done = true));
  while (!out.includes('listening on') && !done) await new Promise((r) => setTimeout(r, 50));
  if (done) throw new Error(`gateway process exited: ${out}`);
  return {
    url: `http://127.0.0.1:${port}`,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

const built = existsSync(join(ROOT, 'dist', 'cjs', 'index.js'));
const fleetDescribe = havePostgres && haveRedis && built ? describe : describe.skip;
if (!haveRedis) test.skip('redis-server is absent (apt-get install redis-server): the two-instance tests are not run', () => {});

fleetDescribe('two gateway processes on one Postgres and one Redis', () => {
  let redis: RedisServer;
  let upstream: UpstreamStandIn;
  let a: Awaited<ReturnType<typeof startGatewayProcess>>;
  let b: Awaited<ReturnType<typeof startGatewayProcess>>;
  let dir: string;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startUpstreamStandIn({ requireKeys: { anthropic: ANTHROPIC_KEY } });
    dir = mkdtempSync(join(tmpdir(), 'gateway-fleet-'));
    const env = {
      DATABASE_URL: pg.url,
      // Both set: DATABASE_URL wins (the start-up line says so).
      DATABASE_PATH: join(dir, 'unused.db'),
      REDIS_URL: redis.url,
      ANTHROPIC_UPSTREAM: upstream.url,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      OPENAI_UPSTREAM: upstream.url,
    };
    [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await upstream?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the start-up line names the Postgres store and the shared memo; SQLite file untouched', () => {
    for (const g of [a, b]) {
      expect(g.output()).toMatch(/store postgres 127\.0\.0\.1:\d+\/gateway, memo redis \(shared\)/);
      expect(g.output()).toContain('DATABASE_URL (Postgres) is used');
    }
    expect(existsSync(join(dir, 'unused.db'))).toBe(false);
  });

  test('/health of each instance names the store', async () => {
    for (const g of [a, b]) expect(await (await fetch(`${g.url}/health`)).json()).toMatchObject({ status: 'healthy', store: 'postgres', spend_buffered: expect.any(Number) });
  });

  test('a key made on A works on B; revoked on B, refused on A at once', async () => {
    const made = await post(`${a.url}/key/generate`, { key_alias: 'fleet-revoke' }, master);
    expect(made.status).toBe(200);
    const key = made.json.key as string;
    const body = openaiToolBody();
    expect((await post(`${b.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await post(`${a.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await post(`${b.url}/key/delete`, { keys: [key] }, master)).status).toBe(200);
    // No key cache: the very next request on A is refused.
    expect((await post(`${a.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` })).status).toBe(401);
    expect((await post(`${b.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` })).status).toBe(401);
  });

  test('a Claude Code session alternating A, B, A, B: each forwarded turn starts with the previous one, byte for byte; one spend log holds both', async () => {
    const made = await post(`${b.url}/key/generate`, { key_alias: 'fleet-session', guardrails: ['headroom-compression'] }, master);
    const key = made.json.key as string;
    const turns = claudeTurns();
    const before = upstream.requests.length;
    const ids: string[] = [];
    for (const [i, turn] of turns.entries()) {
      const g = i % 2 === 0 ? a : b;
      const res = await post(`${g.url}${turn.path}`, turn.body, { ...turn.headers, 'x-api-key': key });
      expect(res.status).toBe(200);
      ids.push(res.headers.get('x-litellm-call-id')!);
    }
    const forwarded = upstream.requests.slice(before).map((r) => r.json);
    expect(forwarded).toHaveLength(turns.length);
    // Claude Code itself moves its cache_control breakpoint from turn to turn; everything else of turn k−1's
    // messages, as forwarded (compressed), is an exact prefix of turn k's.
    const plain = (v: unknown) => JSON.stringify(v, (k, x) => (k === 'cache_control' ? undefined : x));
    for (let k = 1; k < forwarded.length; k++) {
      const prev = forwarded[k - 1].messages as unknown[];
      const next = forwarded[k].messages as unknown[];
      expect(plain(next.slice(0, prev.length))).toBe(plain(prev));
    }

    // Both instances' rows, in the one table, readable from either instance (rows are written within ~50 ms).
    let rows: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100 && rows.length < turns.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      rows = (await (await fetch(`${a.url}/spend/logs?key_alias=fleet-session`, { headers: master })).json()) as typeof rows;
    }
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    expect(rows.some((r) => r.headroom_status === 'compressed')).toBe(true);
    const fromB = (await (await fetch(`${b.url}/spend/logs?key_alias=fleet-session`, { headers: master })).json()) as typeof rows;
    expect(fromB.map((r) => r.request_id)).toEqual(rows.map((r) => r.request_id));
  });

  test('SIGTERM: no new connections, the request in flight finishes, its row is flushed, exit 0', async () => {
    let reached = false;
    // The upstream answers after 600 ms, so the request is still in flight when the signal arrives.
    upstream.reply = (_req, res) => {
      reached = true;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion', model: 'gpt-4o', choices: [] }));
      }, 600);
    };
    try {
      const pending = post(`${a.url}/v1/chat/completions`, openaiToolBody(), master);
      while (!reached) await new Promise((r) => setTimeout(r, 10));
      a.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 150));
      await expect(fetch(`${a.url}/health`)).rejects.toThrow();
      const res = await pending;
      expect(res.status).toBe(200);
      const id = res.headers.get('x-litellm-call-id')!;
      expect(await a.stop()).toBe(0);
      expect(a.output()).toContain('stopped');
      const row = (await (await fetch(`${b.url}/spend/logs?request_id=${id}`, { headers: master })).json()) as unknown[];
      expect(row).toHaveLength(1);
    } finally {
      upstream.reply = undefined;
    }
  });
});
