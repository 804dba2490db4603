/**
 * headroomRetrieval's MCP endpoint, driven by the official SDK's own Client over Streamable HTTP,
 * on express 5 and express 4: one tool, `headroom_retrieve`, with and without a query; errors the
 * model can act on; the same authorize as the REST routes, refused with 401 before the transport.
 */
import http from 'node:http';
import express5 from 'express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ANY_OWNER, contentHash } from '../../lib/ccr';
import { HeadroomConfigError } from '../../lib/errors';
import { loadMcpSdk } from '../../lib/retrieval-mcp';
import { headroomRetrieval } from '../../lib/retrieval-router';
import type { HeadroomRetrievalOptions } from '../../lib/retrieval-options';
import { LruRetrievalStore } from '../../lib/retrieval-store';
import { quiet } from '../kit/app';
import { listenOnLoopback } from '../kit/listen';

const express4 = require('express4') as typeof express5;

const LOG = ['GET /a 200', 'GET /b 500 refunded', 'POST /c 200', 'GET /d 500 refunded'].join('\n');
const LOG_HASH = contentHash(LOG);
const ALICE = 'alice only\nsecond line';
const ALICE_HASH = contentHash(ALICE);

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function serve(major: 4 | 5, opts: Partial<HeadroomRetrievalOptions> = {}) {
  const store = new LruRetrievalStore();
  await store.put(LOG_HASH, { original: LOG, source: 'local', createdAt: Date.now() }, ANY_OWNER);
  await store.put(ALICE_HASH, { original: ALICE, source: 'local', createdAt: Date.now() }, 'alice');
  const app = (major === 4 ? express4 : express5)();
  const router = headroomRetrieval({ store, logger: quiet, ...opts });
  app.use(router);
  const bound = await listenOnLoopback(http.createServer(app));
  closers.push(() => router.close(), bound.close);
  return bound.url;
}

async function connect(url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: 'retrieval-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  closers.push(() => client.close());
  return client;
}

const textOf = (result: any): string => result.content[0].text;

describe.each([5, 4] as const)('MCP endpoint on express %i', (major) => {
  test('lists exactly headroom_retrieve, its input schema built from zod 4', async () => {
    const client = await connect(await serve(major));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['headroom_retrieve']);
    const schema = tools[0].inputSchema as any;
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties).sort()).toEqual(['hash', 'query']);
    expect(schema.required).toEqual(['hash']);
    expect(tools[0].description).toMatch(/hash=/);
    expect(tools[0].annotations?.readOnlyHint).toBe(true);
  });

  test('callTool: the whole original; with a query, the matching lines under a count line', async () => {
    const client = await connect(await serve(major));
    const whole = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: LOG_HASH } });
    expect(whole.isError).toBeFalsy();
    expect(textOf(whole)).toBe(LOG);
    const some = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: LOG_HASH, query: '500 REFUNDED' } });
    expect(textOf(some)).toBe('[2 of 4 lines match "500 REFUNDED"]\nGET /b 500 refunded\nGET /d 500 refunded');
  });

  test('unknown, malformed and not-yours hashes: isError, the same text for unknown and not-yours', async () => {
    const url = await serve(major, { authorize: (req) => (typeof req.headers['x-owner'] === 'string' ? { owner: req.headers['x-owner'] } : false) });
    const bob = await connect(url, { 'x-owner': 'bob' });
    const unknown = await bob.callTool({ name: 'headroom_retrieve', arguments: { hash: contentHash('never') } });
    const theirs = await bob.callTool({ name: 'headroom_retrieve', arguments: { hash: ALICE_HASH } });
    for (const r of [unknown, theirs]) {
      expect(r.isError).toBe(true);
      expect(textOf(r)).toBe('unknown or expired hash');
    }
    const malformed = await bob.callTool({ name: 'headroom_retrieve', arguments: { hash: 'XYZ' } });
    expect(malformed.isError).toBe(true);
    expect(textOf(malformed)).toMatch(/lowercase hex/);
    const alice = await connect(url, { 'x-owner': 'alice' });
    expect(textOf(await alice.callTool({ name: 'headroom_retrieve', arguments: { hash: ALICE_HASH } }))).toBe(ALICE);
  });

  test('a refused caller gets 401 before the transport; GET and DELETE get 405', async () => {
    const url = await serve(major, { authorize: (req) => (req.headers.authorization === 'Bearer team-key' ? { all: true } : false) });
    await expect(connect(url)).rejects.toMatchObject({ code: 401, message: expect.stringContaining('authentication_error') });
    const raw = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(raw.status).toBe(401);
    expect(((await raw.json()) as any).error).toMatchObject({ type: 'authentication_error', code: 'unauthorized' });
    const ok = await connect(url, { authorization: 'Bearer team-key' });
    expect(textOf(await ok.callTool({ name: 'headroom_retrieve', arguments: { hash: LOG_HASH } }))).toBe(LOG);
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${url}/mcp`, { method, headers: { authorization: 'Bearer team-key' } });
      expect(res.status).toBe(405);
      expect(((await res.json()) as any).error.code).toBe(-32000);
    }
  });

  test('a body that is not JSON: a JSON-RPC parse error', async () => {
    const url = await serve(major);
    const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{oops' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe(-32700);
  });

  test('mcp: false serves no MCP endpoint', async () => {
    const url = await serve(major, { mcp: false });
    expect((await fetch(`${url}/mcp`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${url}/v1/retrieve/${LOG_HASH}`)).status).toBe(200);
  });
});

describe('loading the SDK', () => {
  test('importing the router does not load the SDK; creating it with mcp does', () => {
    let loaded = 0;
    jest.isolateModules(() => {
      jest.doMock('@modelcontextprotocol/sdk/server/mcp.js', () => {
        loaded++;
        return jest.requireActual('@modelcontextprotocol/sdk/server/mcp.js');
      });
      const isolated = require('../../lib/retrieval-router') as typeof import('../../lib/retrieval-router');
      expect(loaded).toBe(0);
      isolated.headroomRetrieval({ store: new LruRetrievalStore(), logger: quiet, mcp: false });
      expect(loaded).toBe(0);
      isolated.headroomRetrieval({ store: new LruRetrievalStore(), logger: quiet });
      expect(loaded).toBe(1);
    });
    jest.dontMock('@modelcontextprotocol/sdk/server/mcp.js');
  });

  test('an SDK that cannot be loaded: a config error that says to install it or pass mcp: false', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module '@modelcontextprotocol/sdk/server/mcp.js'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadMcpSdk(missing)).toThrow(HeadroomConfigError);
    expect(() => loadMcpSdk(missing)).toThrow(/npm install @modelcontextprotocol\/sdk.*mcp: false/);
    // An SDK from before zod 4 support (1.23) has no zod-compat module.
    const old = (id: string) => (id.endsWith('zod-compat.js') ? missing() : require(id));
    expect(() => loadMcpSdk(old)).toThrow(/older than 1\.23.*mcp: false/);
    expect(typeof loadMcpSdk().McpServer).toBe('function');
  });
});
