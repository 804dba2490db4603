/**
 * `npm run bench:store`: the gateway on SQLite vs on Postgres, same run, same machine. Each store
 * gets a fresh `npm run gateway` process (embedded compressor) in front of the upstream stand-in;
 * a load loop in this process sends small `/v1/chat/completions` requests with a virtual key
 * (so every request reads its key from the store and leaves a spend-log row) at a fixed concurrency
 * for a fixed time, and reports requests/s and latency percentiles. Postgres is a throwaway cluster
 * started like the tests do (__tests__/kit/postgres.ts): fsync off, loopback, same host.
 *
 *   npm run bench:store -- [--seconds 10] [--connections 16] [--out bench/results/store-latest.md]
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startUpstreamStandIn } from '../examples/gateway/upstream-standin';
import { freePort, startPostgres } from '../__tests__/kit/postgres';

const ROOT = join(__dirname, '..');
const MASTER = 'sk-master-bench-store';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function startGateway(env: Record<string, string>) {
  const port = await freePort();
  const proc = spawn(join(ROOT, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', 'examples/gateway/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MASTER_KEY: MASTER, PORT: String(port), ...env },
  });
  let out = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (out += c));
  while (!out.includes('listening on')) {
    if (proc.exitCode !== null) throw new Error(out);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((r) => (proc.once('close', () => r()), proc.kill('SIGTERM'))) };
}

async function load(url: string, key: string, seconds: number, connections: number) {
  const pool = new Pool(url, { connections });
  const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = performance.now();
      const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
      await res.body.text();
      if (res.statusCode !== 200) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (Date.now() - t0) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  return { requests: latencies.length, errors, rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

async function main() {
  const seconds = Number(arg('seconds', '10'));
  const connections = Number(arg('connections', '16'));
  const outPath = arg('out', '');
  const upstream = await startUpstreamStandIn();
  const pg = await startPostgres('bench');
  const dbFile = join(os.tmpdir(), `bench-store-${process.pid}.db`);
  const rows: string[] = [];
  try {
    for (const [name, env] of [
      ['SQLite', { DATABASE_PATH: dbFile }],
      ['Postgres', { DATABASE_URL: pg.url }],
    ] as const) {
      const gw = await startGateway({ ...env, OPENAI_UPSTREAM: upstream.url, ANTHROPIC_UPSTREAM: upstream.url });
      try {
        const made = await fetch(`${gw.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: '{}' });
        const { key } = (await made.json()) as { key: string };
        await load(gw.url, key, 2, connections); // warm-up
        const r = await load(gw.url, key, seconds, connections);
        rows.push(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.requests} | ${r.errors} |`);
        console.log(rows[rows.length - 1]);
      } finally {
        await gw.stop();
      }
    }
  } finally {
    pg.destroy();
    await upstream.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(dbFile + suffix, { force: true });
  }
  const report = [
    `# Gateway on SQLite vs Postgres`,
    '',
    `\`npm run bench:store -- --seconds ${seconds} --connections ${connections}\` on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
    `Small \`/v1/chat/completions\` requests with a virtual key (a key read from the store per request, one spend-log row each, buffered), ${connections} concurrent, ${seconds} s after 2 s of warm-up; one gateway process per store; load generator and upstream stand-in share one other process.`,
    '',
    '| Store | requests/s | p50 ms | p99 ms | requests | errors |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  if (outPath) writeFileSync(outPath, report);
  console.log(report);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
