/**
 * Starts the example gateway for real on loopback, in front of the example's upstream stand-in,
 * with either a Headroom service stand-in (HEADROOM_API_BASE path) or the embedded compressor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type Gateway, type GatewayConfig } from '../../examples/gateway/app';
import { compress } from '../../examples/gateway/compressor';
import type { SpendEntry } from '../../examples/gateway/spend';
import { startUpstreamStandIn, type UpstreamStandIn } from '../../examples/gateway/upstream-standin';
import { postgresBinDir, startPostgres, type PostgresCluster } from '../kit/postgres';
import { startStandIn, type StandIn } from '../kit/standin';

export const MASTER_KEY = 'sk-master-test-0123456789';
export const ANTHROPIC_KEY = 'sk-ant-provider-key-for-tests';
export const OPENAI_KEY = 'sk-openai-provider-key-for-tests';
export const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export interface GatewayStack {
  url: string;
  gateway: Gateway;
  upstream: UpstreamStandIn;
  /** The Headroom service stand-in, when compression goes through HEADROOM_API_BASE. */
  service?: StandIn;
  dir: string;
  dbPath: string;
  /** POST /key/generate with the master key; returns the parsed answer. */
  generateKey(body?: object): Promise<{ key: string; key_alias: string | null; guardrails: string[]; models: string[]; token: string } & Record<string, unknown>>;
  /** Writes the spend-log rows buffered so far (rows are buffered when a response closes, written off the request path). */
  flushSpend(): Promise<void>;
  /** The spend-log row of a request (waits for it: rows are written when the response closes). */
  spendRow(requestId: string): Promise<SpendEntry>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** 'service': a Headroom stand-in over HTTP (default); 'embedded': the package's compressor in-process. */
  compression?: 'service' | 'embedded';
  config?: Partial<GatewayConfig>;
  /** A database file of the caller's (restart tests); left in place on close. */
  dbPath?: string;
  /** Node's limit on the request line and headers (default 16 KB); raised by tests of long paths, as an operator may with --max-http-header-size. */
  maxHeaderSize?: number;
}

export async function startGatewayStack(opts: StackOptions = {}): Promise<GatewayStack> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  const dbPath = opts.dbPath ?? join(dir, 'gateway.db');
  const upstream = await startUpstreamStandIn({ requireKeys: { anthropic: ANTHROPIC_KEY, openai: OPENAI_KEY } });
  const service = opts.compression === 'embedded' ? undefined : await startStandIn();
  let gateway: Gateway;
  try {
    gateway = createGateway({
      masterKey: MASTER_KEY,
      databasePath: dbPath,
      anthropicUpstream: upstream.url,
      openaiUpstream: upstream.url,
      anthropicApiKey: ANTHROPIC_KEY,
      openaiApiKey: OPENAI_KEY,
      ...(service ? { headroomApiBase: service.url } : { compressor: compress }),
      logger: quiet,
      ...(opts.config ?? {}),
    });
  } catch (err) {
    // Nothing may stay open, or jest cannot exit.
    await upstream.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const server: Server = await new Promise((resolve) => {
    const s = createServer(opts.maxHeaderSize ? { maxHeaderSize: opts.maxHeaderSize } : {}, gateway.app);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const stack: GatewayStack = {
    url,
    gateway,
    upstream,
    service,
    dir,
    dbPath,
    async generateKey(body = {}) {
      const res = await fetch(`${url}/key/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as Awaited<ReturnType<GatewayStack['generateKey']>>;
      if (res.status !== 200) throw new Error(`/key/generate ${res.status}: ${JSON.stringify(json)}`);
      return json;
    },
    async flushSpend() {
      // A response's close event may trail the client's last read by a tick.
      await new Promise((r) => setTimeout(r, 20));
      await gateway.spendBuffer.flush();
    },
    async spendRow(requestId) {
      for (let i = 0; i < 200; i++) {
        const row = (await gateway.spend.list({ request_id: requestId }))[0];
        if (row) return row;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no spend log row for ${requestId}`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await gateway.close();
      await upstream.close();
      await service?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** A tool output long enough to pass the default minTokens (1000 estimated tokens). */
export function bigJsonRows(n = 150): string {
  return JSON.stringify(
    Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i}`, status: i % 17 === 3 ? 'error' : 'ok', region: ['eu', 'us', 'ap'][i % 3], latency_ms: 20 + (i % 13) })),
    null,
    2,
  );
}

export function openaiToolBody(extra: Record<string, unknown> = {}) {
  return {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'You are a helpful agent.' },
      { role: 'user', content: 'Which items are failing?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'list_items', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: bigJsonRows() },
    ],
    ...extra,
  };
}

export function anthropicToolBody(extra: Record<string, unknown> = {}) {
  return {
    model: 'claude-sonnet-4-6',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'You are a helpful agent.', cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: 'Which items are failing?' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'List them.', signature: 'c2lnbmF0dXJlLW9uZQ==' },
          { type: 'tool_use', id: 'toolu_1', name: 'list_items', input: {} },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: bigJsonRows(), cache_control: { type: 'ephemeral' } }] },
    ],
    ...extra,
  };
}

/** The tool output the upstream received, from an OpenAI or Anthropic body. */
export function toolOutputOf(json: any): string {
  const last = json.messages[json.messages.length - 1];
  if (last.role === 'tool') return last.content;
  const block = last.content.find((b: any) => b.type === 'tool_result');
  return typeof block.content === 'string' ? block.content : block.content.map((p: any) => p.text).join('');
}

/** POST JSON with fetch; returns status, headers and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The stores gateway suites run on: SQLite always, Postgres when its server binaries are installed (fleet.test.ts says when they are not). */
export const GATEWAY_STORES = postgresBinDir() ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
export type GatewayStore = (typeof GATEWAY_STORES)[number];

/** What `gatewayStackOn` provides to the tests of one store (set in its beforeAll). */
export interface StoreStack {
  stack: GatewayStack;
  /** The Postgres database the stack uses, when the store is Postgres (for restart tests). */
  databaseUrl?: string;
}

/**
 * Registers the lifecycle every per-store gateway suite needs: a cluster (Postgres) and a stack on it
 * before all tests, both stopped after, the upstream's request log cleared before each test.
 */
export function gatewayStackOn(store: GatewayStore): StoreStack {
  const ctx = {} as StoreStack;
  let pg: PostgresCluster | undefined;
  beforeAll(async () => {
    if (store === 'postgres') pg = await startPostgres();
    ctx.databaseUrl = pg?.url;
    ctx.stack = await startGatewayStack(pg ? { config: { databaseUrl: pg.url } } : {});
  });
  afterAll(async () => {
    await ctx.stack?.close();
    pg?.destroy();
  });
  beforeEach(() => {
    ctx.stack.upstream.requests.length = 0;
  });
  return ctx;
}
