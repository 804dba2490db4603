/**
 * `npm run bench:eventloop`: what worst-case request bodies do to everyone else on the gateway.
 *
 * Measures, in the gateway's own process, the event-loop delay (`monitorEventLoopDelay`, 10 ms
 * resolution: p50/p99/max) and, from outside, the latency of a plain `app.get('/health')` polled every
 * 20 ms, during two phases run back to back on the same gateway process:
 *   (a) normal    `--clients` closed-loop clients sending the recorded Claude Code turn-4 body
 *                 (`__tests__/fixtures/claude-code-session/turn-4.json`), compressed by `defaultOn`;
 *   (b) + worst   the same traffic, plus one client sending worst-case bodies within the 64 MB limit,
 *                 one at a time, round robin: 10,000-level nesting, 200,000 tiny tool messages,
 *                 a 32 MB body of many small values, and a gzip bomb (~100 KB inflating to 48 MB).
 * for each chain, side by side:
 *   plain  express → headroomCompression({ compressor: compress, defaultOn: true }) → proxy
 *   json   express → express.json({ limit: '64mb' }) → the same headroomCompression → proxy
 * (proxy: http-proxy-middleware with a keep-alive agent, mounted as the test kit and README mount it.)
 *
 * Two more chains measure retrieval with a query beside the same normal traffic (the plain chain's):
 * the gateway's retrieval store holds a ~20 MB JSON original (`{"meta":…,"data":{"tickets":[…]}}`)
 * and a ~17 MB log, and the worst-case client sends, round robin, `GET /v1/retrieve/<hash>?query=…`:
 * a selective and a broad query on the JSON, a selective one on the log.
 *   retrieval       headroomRetrieval({ store }) as shipped (lib/retrieval-router.ts)
 *   retrieval-sync  the baseline: a handler doing what the route did before the filter yielded,
 *                   store.get → the synchronous `filterOriginal` → the same JSON body
 *
 * Processes: this orchestrator (clients and the /health poller), one upstream (servers.ts's
 * `createUpstream`: reads every body, answers a small JSON 200, counts Content-Length mismatches),
 * and one gateway process per chain. Children run plain JavaScript transpiled into
 * node_modules/.cache/express-headroom-eventloop/ (as build.ts does for `npm run bench`).
 * A gateway that dies is reported as CRASHED, with the body in flight and its error; the run goes on
 * to the next chain. Every wait is bounded, and a deadline (`--deadline`, default 180 s) ends the
 * run, writing what it has, whatever hangs.
 *
 * Output: a markdown table on stdout and in bench/results/eventloop-latest.md, with the command,
 * the commit, and the machine.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { tsFilesUnder } from './files';
import { headroomCompression, type HeadroomResult } from '../lib';
import { ANY_OWNER, contentHash } from '../lib/ccr';
import { compress } from '../lib/compressor';
import { filterOriginal } from '../lib/retrieval-query';
import { headroomRetrieval } from '../lib/retrieval-router';
import { LruRetrievalStore } from '../lib/retrieval-store';
import { sendReady, serveParent, spawnChild, type Child } from './procs';
import { createUpstream, takeCounters } from './servers';

type ChainId = 'plain' | 'json' | 'json+verify' | 'retrieval' | 'retrieval-sync';
const CHAINS: ChainId[] = ['plain', 'json', 'json+verify', 'retrieval', 'retrieval-sync'];
const CHAIN_LABEL: Record<ChainId, string> = {
  plain: 'headroomCompression → proxy',
  json: 'express.json → headroomCompression → proxy',
  'json+verify': 'express.json({ verify: headroom.verifyJson }) → headroomCompression → proxy',
  retrieval: 'headroomRetrieval (a ~20 MB JSON and a ~17 MB log kept) beside headroomCompression → proxy',
  'retrieval-sync': 'baseline: synchronous filterOriginal route (same store) beside headroomCompression → proxy',
};
const isRetrievalChain = (c: ChainId) => c === 'retrieval' || c === 'retrieval-sync';
const RESOLUTION_MS = 10;
const HEALTH_EVERY_MS = 20;

// ---------------------------------------------------------------------------------------------
// Children: `eventloop.js server <chain> <upstreamUrl>` and `eventloop.js upstream`

interface LoopStats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  cpuPct: number;
  peakRssMb: number;
  decisions: Record<string, number>;
  errors: number;
}

async function serverMain(chain: ChainId, upstreamUrl: string): Promise<void> {
  // A crash is reported to the orchestrator (which names the body in flight), then the process dies as it would have.
  const die = (kind: string, err: unknown) => {
    const text = err instanceof Error ? `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(err);
    process.stderr.write(`eventloop server (${chain}): ${kind}: ${text}\n`);
    const exit = () => process.exit(70);
    setTimeout(exit, 500).unref();
    if (process.send) process.send({ type: 'crash', kind, error: text }, exit);
    else exit();
  };
  process.on('uncaughtException', (err) => die('uncaughtException', err));
  process.on('unhandledRejection', (err) => die('unhandledRejection', err));

  const decisions: Record<string, number> = {};
  let errors = 0;
  const logger = { debug() {}, info() {}, warn() {}, error: () => void errors++ };
  const onResult = (info: HeadroomResult) => {
    const key = info.reason ? `${info.status}:${info.reason}` : info.status;
    decisions[key] = (decisions[key] ?? 0) + 1;
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  const hashes = isRetrievalChain(chain) ? await mountRetrieval(app, chain, logger) : undefined;
  const headroom = headroomCompression({ compressor: compress, defaultOn: true, onResult, logger });
  if (chain === 'json') app.use(express.json({ limit: '64mb' }));
  if (chain === 'json+verify') app.use(express.json({ limit: '64mb', verify: headroom.verifyJson }));
  app.use('/v1', headroom);
  app.use('/v1', createProxyMiddleware({ target: `${upstreamUrl}/v1`, changeOrigin: true, agent: new http.Agent({ keepAlive: true }) }));
  // Express's final handler would log each error to stderr: count them instead (statuses reach the client).
  app.use((err: unknown, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
    errors++;
    next(err);
  });
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  server.keepAliveTimeout = 60_000;

  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  sampler.unref();
  const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
  serveParent(
    {
      begin: () => {
        h.reset();
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        peak = process.memoryUsage.rss();
        for (const k of Object.keys(decisions)) delete decisions[k];
        errors = 0;
        return true;
      },
      end: (): LoopStats => {
        const cpu = process.cpuUsage(cpu0);
        const wall = performance.now() - t0;
        return {
          p50: ms(h.percentile(50)),
          p99: ms(h.percentile(99)),
          max: ms(h.max),
          mean: ms(h.mean),
          cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
          peakRssMb: Math.round(Math.max(peak, process.memoryUsage.rss()) / 1048576),
          decisions: { ...decisions },
          errors,
        };
      },
    },
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  sendReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid, hashes });
}

/** The originals a retrieval chain keeps: deterministic, so every run serves the same bytes. */
function retrievalOriginals(): { json: string; log: string } {
  const statuses = ['open', 'pending', 'refunded', 'closed', 'escalated', 'resolved', 'on hold'];
  const notes = ['card declined twice', 'duplicate charge on the invoice', 'waiting on customer', 'asked for a callback', 'shipping address changed', 'wrong size sent'];
  const tags = ['billing', 'shipping', 'account', 'priority', 'refund', 'fraud-check'];
  const tickets = [];
  for (let i = 0; tickets.length < 80_000; i++) {
    tickets.push({
      id: 100_000 + i,
      status: statuses[i % statuses.length],
      customer: { name: `Customer ${i}`, email: `customer${i}@example.com`, plan: i % 3 === 0 ? 'pro' : 'free' },
      created_at: new Date(Date.UTC(2024, 0, 1) + i * 61_000).toISOString(),
      note: `${notes[(i * 5) % notes.length]} (ticket ${i}, "${tags[i % tags.length]}")`,
      tags: [tags[i % tags.length], tags[(i * 3) % tags.length]],
      amount: Math.round(((i * 7919) % 100_000) / 10) / 10,
    });
  }
  const json = JSON.stringify({ meta: { page: 1, per_page: tickets.length, source: 'support-desk' }, data: { tickets, total: tickets.length } });
  const levels = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'INFO', 'ERROR'];
  const lines: string[] = [];
  for (let i = 0; i < 210_000; i++) {
    const level = levels[(i * 11) % levels.length];
    const what = level === 'ERROR' ? (i % 5 === 0 ? 'disk full on /dev/sda1' : 'upstream timed out after 30000 ms') : `request ${i} served in ${(i * 37) % 500} ms`;
    lines.push(`${new Date(Date.UTC(2024, 4, 1) + i * 250).toISOString()} ${level.padEnd(5)} worker-${i % 16} ${what} id=${(i * 2654435761) % 4294967296}`);
  }
  return { json, log: lines.join('\n') };
}

/** Keeps the originals and mounts the retrieval route (shipped or baseline); answers their hashes. */
async function mountRetrieval(app: express.Express, chain: ChainId, logger: { debug(): void; info(): void; warn(): void; error(): void }): Promise<Record<string, string>> {
  const { json, log } = retrievalOriginals();
  const store = new LruRetrievalStore({ maxBytes: 512 * MB });
  const hashes = { json: contentHash(json), log: contentHash(log), jsonBytes: String(json.length), logBytes: String(log.length) };
  await store.put(hashes.json, { original: json, source: 'local', createdAt: Date.now(), toolName: 'list_tickets' }, ANY_OWNER);
  await store.put(hashes.log, { original: log, source: 'local', createdAt: Date.now(), toolName: 'read_log' }, ANY_OWNER);
  if (chain === 'retrieval') {
    app.use(headroomRetrieval({ store, mcp: false, logger }));
    return hashes;
  }
  // The route as it was: lookup, the synchronous filter, the same body.
  app.get('/v1/retrieve/:hash', (req, res) => {
    const query = typeof req.query.query === 'string' && req.query.query.trim() !== '' ? req.query.query : undefined;
    store.get(req.params.hash, { count: true }).then((stored) => {
      if (!stored) return void res.status(404).json({ error: { message: 'unknown or expired hash' } });
      const { record } = stored;
      const body: Record<string, unknown> = {
        hash: req.params.hash,
        original_content: record.original,
        original_tokens: Math.ceil(record.original.length / 3),
        original_item_count: record.originalItemCount ?? null,
        compressed_item_count: record.compressedItemCount ?? null,
        tool_name: record.toolName ?? null,
        retrieval_count: stored.retrievalCount,
      };
      if (query !== undefined) {
        const f = filterOriginal(record.original, query);
        Object.assign(body, { original_content: f.content, query, matched_count: f.matched, total_count: f.total });
      }
      const text = JSON.stringify(body);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('content-length', Buffer.byteLength(text));
      res.setHeader('cache-control', 'no-store');
      res.end(text);
    }, logger.error);
  });
  return hashes;
}

async function upstreamMain(): Promise<void> {
  const counters = { requests: 0, bytes: 0, bad: 0 };
  const server = createUpstream(counters);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveParent(
    {
      take: () => takeCounters(counters),
    },
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  sendReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid });
}

// ---------------------------------------------------------------------------------------------
// Build: lib/ and the bench modules this file imports, transpiled (no type check) for the children.

const ROOT = process.env.BENCH_ROOT ?? path.resolve(__dirname, '..');
const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'express-headroom-eventloop');

function build(): string {
  // Loaded here only: the children must not carry the compiler.

  const ts = require('typescript') as typeof import('typescript');
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  const files = [...tsFilesUnder(path.join(ROOT, 'lib')), ...['eventloop', 'files', 'procs', 'servers'].map((m) => path.join(ROOT, 'bench', `${m}.ts`))];
  for (const file of files) {
    const out = path.join(BUILD_DIR, path.relative(ROOT, file).replace(/\.ts$/, '.js'));
    const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, outputText);
  }
  fs.writeFileSync(path.join(BUILD_DIR, 'package.json'), '{"type":"commonjs","private":true}\n');
  return path.join(BUILD_DIR, 'bench', 'eventloop.js');
}

// ---------------------------------------------------------------------------------------------
// Bodies

interface Body {
  name: string;
  /** Default POST. */
  method?: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  bytes: Buffer;
  /** Decoded size, when sent encoded. */
  inflated?: number;
}

const MB = 1024 * 1024;

function normalBody(): Body {
  const f = JSON.parse(fs.readFileSync(path.join(ROOT, '__tests__', 'fixtures', 'claude-code-session', 'turn-4.json'), 'utf8'));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.headers as Record<string, string>)) if (k.toLowerCase() !== 'content-length') headers[k.toLowerCase()] = String(v);
  headers['content-type'] ??= 'application/json';
  return { name: 'turn-4', path: f.path, headers, bytes: Buffer.from(JSON.stringify(f.body)) };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The retrieval chains' worst case: queries over the kept originals (hashes from the gateway). */
function retrievalRequests(hashes: Record<string, string>): Body[] {
  const mb = (k: string) => `${(Number(hashes[k]) / MB).toFixed(1)} MB`;
  const get = (name: string, hash: string, query: string): Body => ({
    name,
    method: 'GET',
    path: `/v1/retrieve/${hash}?query=${encodeURIComponent(query)}`,
    headers: {},
    bytes: Buffer.alloc(0),
  });
  return [
    get(`query on ${mb('jsonBytes')} JSON, selective`, hashes.json, 'refunded "duplicate charge"'),
    get(`query on ${mb('jsonBytes')} JSON, every row`, hashes.json, 'customer'),
    get(`query on ${mb('logBytes')} log, selective`, hashes.log, 'error "disk full"'),
  ];
}

function worstBodies(): Body[] {
  const depth = 10_000;
  const deep = `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":${'['.repeat(depth)}${']'.repeat(depth)}},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}`;

  const rows = 200_000;
  const row = '{"role":"tool","tool_call_id":"call_1","content":"ok"}';
  const wide = `{"model":"gpt-4o","messages":[{"role":"user","content":"go"},{"role":"assistant","content":null},${Array(rows).fill(row).join(',')}]}`;

  // 32 MB of small values (numbers, short strings, literals) beside a normal chat request.
  const head = '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x":[';
  const unit = '1,"ab",true,null,-2.5,';
  const units = Math.floor((32 * MB - head.length - 4) / unit.length);
  const big = `${head}${unit.repeat(units)}0]}`;

  // A gzip bomb within the limit: valid JSON whose whitespace inflates to 48 MB.
  const bombInflated = 48 * MB;
  const bombJson = Buffer.concat([Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}'), Buffer.alloc(bombInflated, 0x20), Buffer.from(']}')]);
  const bomb = zlib.gzipSync(bombJson, { level: 9 });

  return [
    { name: `${depth.toLocaleString('en')}-level nesting`, path: '/v1/messages', headers: JSON_HEADERS, bytes: Buffer.from(deep) },
    { name: `${rows.toLocaleString('en')} tiny tool messages`, path: '/v1/chat/completions', headers: JSON_HEADERS, bytes: Buffer.from(wide) },
    { name: '32 MB of small values', path: '/v1/chat/completions', headers: JSON_HEADERS, bytes: Buffer.from(big) },
    {
      name: `gzip bomb (${(bomb.length / 1024).toFixed(0)} KB → ${bombInflated / MB} MB)`,
      path: '/v1/chat/completions',
      headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' },
      bytes: bomb,
      inflated: bombJson.length,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Clients (in this process)

interface Sample {
  ms: number;
  status: number | string;
}

function send(agent: http.Agent, base: string, body: Body, timeoutMs: number): Promise<Sample> {
  const u = new URL(base);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, status });
    };
    const method = body.method ?? 'POST';
    const headers = method === 'GET' ? body.headers : { ...body.headers, 'content-length': String(body.bytes.length) };
    const req = http.request({ host: u.hostname, port: u.port, path: body.path, method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode ?? 0));
      res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'));
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'));
    if (method === 'GET') req.end();
    else req.end(body.bytes);
  });
}

/** Sorted-copy percentile (nearest rank). */
function pct(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/**
 * Polls GET /health every 20 ms on one keep-alive connection. A poll still waiting when the next
 * is due is not doubled up; instead, when it returns, the polls that should have started meanwhile
 * are recorded with the latency they would have seen (coordinated-omission correction), so a
 * 500 ms stall counts as ~25 slow polls, not one.
 */
const HEALTH: Body = { name: 'health', method: 'GET', path: '/health', headers: {}, bytes: Buffer.alloc(0) };

function startHealthPoller(base: string): { stop(): Promise<number[]> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped || inFlight) return;
    const started = performance.now();
    inFlight = send(agent, base, HEALTH, 30_000).then((s) => {
      const lat = performance.now() - started;
      latencies.push(lat);
      for (let missed = lat - HEALTH_EVERY_MS; missed > 0; missed -= HEALTH_EVERY_MS) latencies.push(missed);
      if (typeof s.status !== 'number') latencies.push(Infinity);
      inFlight = undefined;
    });
  };
  const timer = setInterval(tick, HEALTH_EVERY_MS);
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.race([inFlight, sleep(5000)]);
      agent.destroy();
      return latencies;
    },
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Closed loop: each client sends its next request when the previous answer is read, until `stop()`. */
function startClients(base: string, n: number, next: () => Body, timeoutMs: number, onSample?: (b: Body, s: Sample) => void) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const samples: Sample[] = [];
  let stopped = false;
  const loops = Array.from({ length: n }, async () => {
    while (!stopped) {
      const body = next();
      const s = await send(agent, base, body, timeoutMs);
      samples.push(s);
      onSample?.(body, s);
      // A dead server refuses at once: do not spin.
      if (typeof s.status !== 'number') await sleep(50);
    }
  });
  const t0 = performance.now();
  return {
    samples,
    async stop(capMs: number): Promise<number> {
      stopped = true;
      const elapsed = performance.now() - t0;
      await Promise.race([Promise.all(loops), sleep(capMs)]);
      agent.destroy();
      return elapsed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Orchestration

interface PhaseRow {
  chain: ChainId;
  phase: 'normal' | 'normal + worst';
  loop?: LoopStats;
  health: { p50: number; p99: number; max: number; n: number };
  normal: { rps: number; p50: number; p99: number; statuses: Record<string, number> };
  worst: Array<{ name: string; sent: number; statuses: Record<string, number>; meanMs: number; maxMs: number }>;
  crash?: string;
  note?: string;
}

interface Options {
  phaseS: number;
  warmupS: number;
  clients: number;
  chains: ChainId[];
  deadlineS: number;
}

const USAGE = `npm run bench:eventloop -- [options]
  --phase S      seconds per phase (default 10)
  --warmup S     normal traffic before the first phase, not measured (default 2)
  --clients N    concurrent normal clients (default 4)
  --chains LIST  any of ${CHAINS.join(',')} (default all)
  --deadline S   end the run after S seconds whatever happens, writing what was measured (default 180)`;

function parseArgs(argv: string[]): Options {
  const o: Options = { phaseS: 10, warmupS: 2, clients: 4, chains: [...CHAINS], deadlineS: 180 };
  const num = (v: string | undefined, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} needs a number ≥ ${min}, got "${v}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--phase':
        o.phaseS = num(value(), flag, 1);
        break;
      case '--warmup':
        o.warmupS = num(value(), flag, 0);
        break;
      case '--clients':
        o.clients = Math.floor(num(value(), flag, 1));
        break;
      case '--deadline':
        o.deadlineS = num(value(), flag, 10);
        break;
      case '--chains':
        o.chains = value()
          .split(',')
          .map((c) => {
            if (!(CHAINS as string[]).includes(c.trim())) throw new Error(`unknown chain "${c}"; use ${CHAINS.join(', ')}`);
            return c.trim() as ChainId;
          });
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  return o;
}

function tallyStatuses(samples: Sample[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const s of samples) t[String(s.status)] = (t[String(s.status)] ?? 0) + 1;
  return t;
}

interface Gateway {
  child: Child & { info: any };
  crashed?: string;
  /** Resolves when the process exits. */
  exited: Promise<void>;
  /** The worst-case body being served, for naming a crash. */
  current?: string;
  /** The last worst-case body answered, and how (a socket error may arrive before the exit event). */
  last?: { name: string; status: number | string };
}

async function startGateway(chain: ChainId, script: string, upstreamUrl: string): Promise<Gateway> {
  const child = await spawnChild(`gateway (${chain})`, script, ['server', chain, upstreamUrl], [], ROOT);
  let crashError: string | undefined;
  const g: Gateway = { child, exited: Promise.resolve() };
  child.proc.on('message', (m: any) => {
    if (m?.type === 'crash') crashError = `${m.kind}: ${m.error}`;
  });
  g.exited = new Promise<void>((resolve) =>
    child.proc.once('exit', (code, signal) => {
      // A clean stop (code 0 after `stop`) is not a crash.
      const serving = g.current ?? (g.last && typeof g.last.status !== 'number' ? g.last.name : undefined);
      if (code !== 0 || signal)
        g.crashed = `exited (code ${code}, signal ${signal})${serving ? ` while serving "${serving}"` : ''}${crashError ? `: ${crashError.split('\n')[0]}` : ''}`;
      resolve();
    }),
  );
  return g;
}

async function runPhase(g: Gateway, chain: ChainId, phase: PhaseRow['phase'], o: Options, normal: Body, worst: Body[], deadline: { at: number }): Promise<PhaseRow> {
  const base = g.child.info.url as string;
  const row: PhaseRow = { chain, phase, health: { p50: NaN, p99: NaN, max: NaN, n: 0 }, normal: { rps: 0, p50: NaN, p99: NaN, statuses: {} }, worst: [] };
  try {
    await g.child.call({ type: 'begin' }, 10_000);
  } catch (err) {
    row.crash = g.crashed ?? `no answer to begin: ${(err as Error).message}`;
    return row;
  }
  const health = startHealthPoller(base);
  const normals = startClients(base, o.clients, () => normal, 30_000);
  const worstStats = new Map<string, { samples: Sample[] }>(worst.map((b) => [b.name, { samples: [] }]));
  let wi = 0;
  const worstClient =
    phase === 'normal + worst'
      ? startClients(
          base,
          1,
          () => {
            const b = worst[wi++ % worst.length];
            g.current = b.name;
            return b;
          },
          60_000,
          (b, s) => {
            worstStats.get(b.name)!.samples.push(s);
            g.last = { name: b.name, status: s.status };
            g.current = undefined;
          },
        )
      : undefined;

  const remaining = Math.max(0, Math.min(o.phaseS * 1000, deadline.at - Date.now() - 8000));
  if (remaining < o.phaseS * 1000) row.note = `cut to ${(remaining / 1000).toFixed(1)} s by the deadline`;
  await Promise.race([sleep(remaining), g.exited]);

  const elapsed = await normals.stop(5000);
  await worstClient?.stop(5000);
  const lat = await health.stop();

  if (g.crashed) row.crash = g.crashed;
  else {
    try {
      row.loop = await g.child.call<LoopStats>({ type: 'end' }, 10_000);
    } catch (err) {
      row.crash = g.crashed ?? `gateway unresponsive: ${(err as Error).message}`;
    }
  }
  const finite = lat.filter(Number.isFinite);
  row.health = { p50: pct(finite, 0.5), p99: pct(finite, 0.99), max: finite.length ? Math.max(...finite) : NaN, n: lat.length };
  if (finite.length < lat.length) row.note = `${row.note ? `${row.note}; ` : ''}${lat.length - finite.length} /health polls failed`;
  const ok = normals.samples.filter((s) => typeof s.status === 'number');
  row.normal = {
    rps: (normals.samples.filter((s) => s.status === 200).length / elapsed) * 1000,
    p50: pct(
      ok.map((s) => s.ms),
      0.5,
    ),
    p99: pct(
      ok.map((s) => s.ms),
      0.99,
    ),
    statuses: tallyStatuses(normals.samples),
  };
  for (const b of worst) {
    const ss = worstStats.get(b.name)!.samples;
    if (phase === 'normal') continue;
    row.worst.push({
      name: b.name,
      sent: ss.length,
      statuses: tallyStatuses(ss),
      meanMs: ss.length ? ss.reduce((a, s) => a + s.ms, 0) / ss.length : NaN,
      maxMs: ss.length ? Math.max(...ss.map((s) => s.ms)) : NaN,
    });
  }
  return row;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

function statusText(t: Record<string, number>): string {
  return (
    Object.entries(t)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}×${v}`)
      .join(' ') || '–'
  );
}

function gitRevision(): string {
  try {
    return execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const sizeText = (b: Body) => (b.bytes.length >= MB ? `${(b.bytes.length / MB).toFixed(1)} MB` : `${(b.bytes.length / 1024).toFixed(0)} KB`);

function render(
  rows: PhaseRow[],
  o: Options,
  argv: string[],
  started: Date,
  worst: Body[],
  retrievalWorst: Body[] | undefined,
  normal: Body,
  upstreamBad: number | undefined,
  aborted?: string,
): string {
  const cmd = `npm run bench:eventloop${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const out: string[] = [];
  out.push('# Event-loop delay under worst-case bodies', '');
  out.push(`Command: \`${cmd}\` (${started.toISOString()}, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)  `);
  out.push(`Code: \`${gitRevision()}\`  `);
  out.push(`Machine: ${os.cpus()[0]?.model ?? 'unknown'} ×${os.availableParallelism()}, Node ${process.version}, ${os.type()} ${os.release()}  `);
  out.push(
    `Load: ${o.clients} closed-loop clients sending ${normal.name} (${(normal.bytes.length / 1024).toFixed(0)} KB, \`${normal.path}\`, compressed by \`defaultOn\`, embedded compressor); ` +
      `phase (b) adds 1 client sending, one at a time, round robin: ${worst.map((b) => `${b.name} (${sizeText(b)})`).join(', ')}` +
      (retrievalWorst
        ? `; on the retrieval chains instead: ${retrievalWorst.map((b) => `${b.name} (\`${decodeURIComponent(b.path.slice(b.path.indexOf('?') + 1))}\`)`).join(', ')}`
        : '') +
      '. ' +
      `${o.phaseS} s per phase, after ${o.warmupS} s of warm-up.`,
  );
  if (aborted) out.push('', `**Run cut short: ${aborted}**`);
  out.push('');
  out.push(
    '| chain | phase | loop delay p50 / p99 / max (ms) | /health p50 / p99 / max (ms) | normal req/s | normal p50 / p99 (ms) | worst-case bodies: answers, mean / max ms | gateway CPU, peak RSS |',
  );
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const loop = r.loop ? `${fmt(r.loop.p50)} / ${fmt(r.loop.p99)} / ${fmt(r.loop.max)}` : '–';
    const health = `${fmt(r.health.p50)} / ${fmt(r.health.p99)} / ${fmt(r.health.max)}`;
    const normalNon200 = Object.entries(r.normal.statuses).filter(([k]) => k !== '200');
    const normalCell = `${fmt(r.normal.rps, 0)}${normalNon200.length ? ` (non-200: ${normalNon200.map(([k, v]) => `${k}×${v}`).join(' ')})` : ''}`;
    const worstCell = r.worst.length
      ? r.worst.map((w) => `${w.name}: ${w.sent ? `${statusText(w.statuses)}, ${fmt(w.meanMs, 0)} / ${fmt(w.maxMs, 0)}` : 'not sent'}`).join('<br>')
      : '–';
    const gw = r.loop ? `${r.loop.cpuPct}%, ${r.loop.peakRssMb} MB` : '–';
    const phase = `${r.phase}${r.crash ? ` **CRASHED: ${r.crash.replace(/\|/g, '\\|')}**` : ''}${r.note ? ` (${r.note})` : ''}`;
    out.push(`| ${r.chain}: ${CHAIN_LABEL[r.chain]} | ${phase} | ${loop} | ${health} | ${normalCell} | ${fmt(r.normal.p50)} / ${fmt(r.normal.p99)} | ${worstCell} | ${gw} |`);
  }
  out.push('');
  out.push(
    `Loop delay: \`monitorEventLoopDelay({ resolution: ${RESOLUTION_MS} })\` in the gateway process, reset at each phase start; it measures the ${RESOLUTION_MS} ms timer's interval, so an idle loop reads ≈${RESOLUTION_MS} ms and anything above is delay. ` +
      `/health: \`GET /health\` (a plain \`app.get\`) every ${HEALTH_EVERY_MS} ms on one keep-alive connection; polls that fell due while one was waiting are counted with the latency they would have seen (coordinated-omission correction). ` +
      `Normal p50/p99 over answered requests; req/s counts 200s.` +
      (upstreamBad !== undefined ? ` Upstream saw ${upstreamBad} body/Content-Length mismatch(es).` : ''),
  );
  const decided = rows.filter((r) => r.loop && Object.keys(r.loop.decisions).length);
  if (decided.length) out.push('', 'Middleware decisions (`onResult` status:reason) per phase:', '');
  for (const r of decided) out.push(`- ${r.chain}, ${r.phase}: ${statusText(r.loop!.decisions)}${r.loop!.errors ? `; ${r.loop!.errors} error(s) logged or handled` : ''}`);
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  const started = new Date();
  const deadline = { at: Date.now() + o.deadlineS * 1000 };
  const rows: PhaseRow[] = [];
  const normal = normalBody();
  const worst = worstBodies();
  let retrievalWorst: Body[] | undefined;
  let upstream: (Child & { info: any }) | undefined;
  let gateway: Gateway | undefined;
  let upstreamBad: number | undefined;

  const finish = (aborted?: string) => {
    const md = render(rows, o, argv, started, worst, retrievalWorst, normal, upstreamBad, aborted);
    const file = path.join(ROOT, 'bench', 'results', 'eventloop-latest.md');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, md);
    fs.renameSync(`${file}.tmp`, file);
    console.log(`\n${md}\nwritten to ${path.relative(process.cwd(), file)}`);
  };
  // The hard stop: whatever hangs, the run ends, and says so. procs.ts kills the children on exit.
  const hard = setTimeout(
    () => {
      console.error(`\ndeadline of ${o.deadlineS} s reached: stopping`);
      try {
        finish(`deadline of ${o.deadlineS} s reached`);
      } finally {
        process.exit(2);
      }
    },
    (o.deadlineS + 5) * 1000,
  );

  console.log('building lib/ and the bench children…');
  const script = build();
  // eslint-disable-next-line prefer-const -- declared earlier: the deadline handler above reads it (undefined until now)
  upstream = await spawnChild('upstream', script, ['upstream'], [], ROOT);
  for (const chain of o.chains) {
    if (Date.now() > deadline.at - 15_000) {
      rows.push({
        chain,
        phase: 'normal',
        health: { p50: NaN, p99: NaN, max: NaN, n: 0 },
        normal: { rps: 0, p50: NaN, p99: NaN, statuses: {} },
        worst: [],
        note: 'not run: deadline',
      });
      continue;
    }
    console.log(`\n[${chain}] ${CHAIN_LABEL[chain]}: starting gateway`);
    gateway = await startGateway(chain, script, upstream.info.url);
    const chainWorst = isRetrievalChain(chain) ? (retrievalWorst = retrievalRequests(gateway.child.info.hashes)) : worst;
    if (o.warmupS > 0) {
      const w = startClients(gateway.child.info.url, o.clients, () => normal, 30_000);
      await Promise.race([sleep(o.warmupS * 1000), gateway.exited]);
      await w.stop(5000);
    }
    for (const phase of ['normal', 'normal + worst'] as const) {
      if (gateway.crashed) {
        rows.push({ chain, phase, health: { p50: NaN, p99: NaN, max: NaN, n: 0 }, normal: { rps: 0, p50: NaN, p99: NaN, statuses: {} }, worst: [], crash: gateway.crashed });
        continue;
      }
      console.log(`[${chain}] phase ${phase}: ${o.phaseS} s`);
      const row = await runPhase(gateway, chain, phase, o, normal, chainWorst, deadline);
      rows.push(row);
      console.log(
        `[${chain}] ${phase}: loop p50/p99/max ${row.loop ? `${fmt(row.loop.p50)}/${fmt(row.loop.p99)}/${fmt(row.loop.max)}` : '–'} ms, /health p99 ${fmt(row.health.p99)} ms, ` +
          `normal ${fmt(row.normal.rps, 0)} req/s${row.worst.length ? `, worst ${row.worst.map((w) => `${w.name}: ${statusText(w.statuses)}`).join('; ')}` : ''}${row.crash ? `  CRASHED: ${row.crash}` : ''}`,
      );
    }
    await gateway.child.stop();
    gateway = undefined;
  }
  try {
    upstreamBad = (await upstream.call<{ bad: number }>({ type: 'take' }, 5000)).bad;
  } catch {
    /* reported as unknown */
  }
  await upstream.stop();
  clearTimeout(hard);
  finish();
}

if (require.main === module) {
  const [role, ...rest] = process.argv.slice(2);
  const run = role === 'server' ? serverMain(rest[0] as ChainId, rest[1]) : role === 'upstream' ? upstreamMain() : main();
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
