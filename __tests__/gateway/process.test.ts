/**
 * The two entry points as a user runs them: `npm run demo` and `npm run gateway` (ts-node, the
 * package resolved by name through its self-reference to dist/, built by `npm run build`), plus the
 * environment parsing behind `npm run gateway`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvError, settingsFromEnv } from '../../examples/gateway/config';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');

jest.setTimeout(60_000);

describe('settingsFromEnv', () => {
  test('defaults', () => {
    const s = settingsFromEnv({ MASTER_KEY: 'sk-m' });
    expect(s.host).toBe('127.0.0.1');
    expect(s.port).toBe(4000);
    expect(s.config).toMatchObject({
      masterKey: 'sk-m',
      databasePath: './gateway.db',
      anthropicUpstream: 'https://api.anthropic.com',
      openaiUpstream: 'https://api.openai.com',
      anthropicApiKey: undefined,
      openaiApiKey: undefined,
      headroomApiBase: undefined,
      defaultOn: false,
      headroom: {},
    });
  });

  test('every variable', () => {
    const s = settingsFromEnv({
      MASTER_KEY: 'sk-m',
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_PATH: '/var/lib/gw.db',
      ANTHROPIC_UPSTREAM: 'http://10.0.0.1:9000/',
      OPENAI_UPSTREAM: 'http://10.0.0.2:9000',
      ANTHROPIC_API_KEY: 'sk-ant-x',
      OPENAI_API_KEY: 'sk-oa-x',
      HEADROOM_API_BASE: 'http://127.0.0.1:8787',
      HEADROOM_API_KEY: 'hr-token',
      HEADROOM_DEFAULT_ON: 'TRUE',
      HEADROOM_MIN_TOKENS: '0',
      HEADROOM_TIMEOUT_MS: '2500',
      HEADROOM_UNREACHABLE_FALLBACK: 'fail_closed',
      DATABASE_URL: 'postgres://gw:pw@db.internal:5432/gateway',
      REDIS_URL: 'redis://cache.internal:6379',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    expect(s).toEqual({
      host: '0.0.0.0',
      port: 8080,
      shutdownTimeoutMs: 20000,
      config: {
        masterKey: 'sk-m',
        databasePath: '/var/lib/gw.db',
        databaseUrl: 'postgres://gw:pw@db.internal:5432/gateway',
        redisUrl: 'redis://cache.internal:6379',
        anthropicUpstream: 'http://10.0.0.1:9000',
        openaiUpstream: 'http://10.0.0.2:9000',
        anthropicApiKey: 'sk-ant-x',
        openaiApiKey: 'sk-oa-x',
        headroomApiBase: 'http://127.0.0.1:8787',
        headroomApiKey: 'hr-token',
        defaultOn: true,
        headroom: { minTokens: 0, timeoutMs: 2500, unreachableFallback: 'fail_closed' },
      },
    });
  });

  test.each([
    [{}, 'MASTER_KEY'],
    [{ MASTER_KEY: 'k', HEADROOM_DEFAULT_ON: 'yes' }, 'HEADROOM_DEFAULT_ON'],
    [{ MASTER_KEY: 'k', PORT: 'eighty' }, 'PORT'],
    [{ MASTER_KEY: 'k', HEADROOM_API_BASE: 'localhost:8787' }, 'HEADROOM_API_BASE'],
    [{ MASTER_KEY: 'k', HEADROOM_UNREACHABLE_FALLBACK: 'retry' }, 'HEADROOM_UNREACHABLE_FALLBACK'],
    [{ MASTER_KEY: 'k', DATABASE_URL: 'mysql://db/gw' }, 'DATABASE_URL'],
    [{ MASTER_KEY: 'k', REDIS_URL: 'cache:6379' }, 'REDIS_URL'],
  ])('refuses %j naming %s', (env, name) => {
    expect(() => settingsFromEnv(env)).toThrow(EnvError);
    expect(() => settingsFromEnv(env)).toThrow(name);
  });
});

const built = existsSync(join(ROOT, 'dist', 'cjs', 'index.js'));
if (!built) test.todo('entry points: run `npm run build` first (they import express-headroom by name, i.e. from dist/)');
const withBuild = built ? test.concurrent : test.concurrent.skip; // separate processes: run them side by side

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

withBuild('npm run demo: exits 0 and ends with the total tokens saved', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(TS_NODE, ['--transpile-only', 'examples/gateway/demo.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  const lines = stdout.trim().split('\n');
  expect(lines[lines.length - 1]).toMatch(/^Total tokens saved: [1-9][\d,]* of [\d,]+ tokens/);
  expect(stdout).toMatch(/^ {2}2 +Bash: cat data\/orders\.json.* headroom-compression$/m);
  expect(stdout).not.toContain('FAIL');
});

withBuild('npm run gateway: one line says the embedded compressor is used; /health answers; SIGTERM stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-server-'));
  const port = await freePort();
  const child = spawn(TS_NODE, ['--transpile-only', 'examples/gateway/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MASTER_KEY: 'sk-master-proc', PORT: String(port), DATABASE_PATH: join(dir, 'gw.db') },
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      done = true;
      resolve(code);
    }),
  );
  try {
    // Until it listens or dies (bounded by the test's timeout; ts-node start-up is slow on a busy machine).
    while (!out.includes('listening on') && !done) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain(`listening on http://127.0.0.1:${port}`);
    expect(out.split('\n').filter((l) => /embedded compressor/.test(l))).toHaveLength(1);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', compression: 'embedded' });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

withBuild('npm run gateway without MASTER_KEY: exits 1 and says how to set it', async () => {
  const child = spawn(TS_NODE, ['--transpile-only', 'examples/gateway/server.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(1);
  expect(err).toContain('MASTER_KEY is not set');
});
