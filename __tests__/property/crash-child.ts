/**
 * The server process of crash-safety.property.test.ts. Run as its own process so that a request that
 * takes the process down is observed (the child exits) instead of taking the test runner with it.
 *
 * Starts on loopback:
 * - an echo upstream: reads the whole body, answers a small JSON 200 (`x-echo-upstream: 1`), keeps nothing;
 * - one Express app per chain × Express major × opt-in mode:
 *     plain     headroomCompression → createProxyMiddleware
 *     json      express.json({ limit: '64mb' }) → headroomCompression → proxy
 *     json-fix  json, with the proxy's `on: { proxyReq: fixRequestBody }`
 *   on Express 5 (`express`) and 4 (`express4`); mode `optin` (opt-in per body, the default) and `on`
 *   (`defaultOn: true`). headroomCompression runs the embedded compressor (`compress`) with `minTokens: 0`.
 *   Every app also serves `headroomRetrieval` (REST and MCP) on the middleware's store, which holds
 *   `SEEDED_ORIGINAL` from the start. Every app has `GET /health`, and a last error handler that tags the error (`x-crash-child-error`:
 *   body-parser's `err.type`, or `other`) and hands it on to Express's own final handler unchanged.
 *
 * Prints one JSON line on stdout: `{"ready":true,"upstream":port,"apps":{"plain/e5/optin":port,...}}`.
 * A swallowed error is made visible: an uncaught exception or unhandled rejection writes a line with
 * `CRASH-CHILD Uncaught…` / `CRASH-CHILD unhandledRejection…` to stderr and exits non-zero.
 * Exits when stdin closes (the parent went away), so no orphan holds ports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import { contentHash, headroomRetrieval, headroomCompression } from '../../lib';
import { compress } from '../../lib/compressor';
import { CHAINS, MAJORS, MODES, SEEDED_ORIGINAL, type Chain, type Mode } from './crash-targets';

const express4 = require('express4') as typeof express5;

function explain(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}

process.on('uncaughtException', (err, origin) => {
  // stderr is a pipe: writes are synchronous on Linux, so the line is out before the exit.
  process.stderr.write(`CRASH-CHILD Uncaught exception (${origin}): ${explain(err)}\n`);
  process.exit(70);
});
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`CRASH-CHILD unhandledRejection: ${explain(reason)}\n`);
  process.exit(71);
});

/** Error-level lines only, one line each: the parent shows the tail of stderr when a request fails. */
const logger = {
  debug() {},
  info() {},
  warn() {},
  error(obj: object, msg?: string) {
    process.stderr.write(`[headroom error] ${msg ?? ''} ${JSON.stringify(obj)}\n`);
  },
};

/** body-parser's error types (`err.type`): errors of the app's own parser, not of the middleware. */
const BODY_PARSER_TYPES = new Set([
  'entity.parse.failed',
  'entity.too.large',
  'entity.verify.failed',
  'encoding.unsupported',
  'charset.unsupported',
  'request.aborted',
  'request.size.invalid',
  'stream.encoding.set',
  'stream.not.readable',
]);

/** What Object.prototype looked like before any request: `/health` reports any change (pollution). */
const PROTO_BASELINE = Object.getOwnPropertyNames(Object.prototype).sort().join();
const polluted = () => Object.getOwnPropertyNames(Object.prototype).sort().join() !== PROTO_BASELINE || 'polluted' in {};

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function startUpstream(): Promise<number> {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const declared = req.headers['content-length'];
      const text = JSON.stringify({ ok: true, bytes });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-echo-upstream': '1',
        'x-upstream-bytes': String(bytes),
        'x-upstream-declared': declared === undefined ? 'none' : String(declared),
      });
      res.end(text);
    });
  });
  return listen(server);
}

function createApp(major: 4 | 5, chain: Chain, mode: Mode, upstreamPort: number) {
  const ex = major === 4 ? express4 : express5;
  const app = ex();
  app.get('/health', (_req, res) => {
    res.json({ ok: true, pid: process.pid, polluted: polluted() });
  });
  if (chain !== 'plain') app.use(ex.json({ limit: '64mb' }));
  const headroom = headroomCompression({ compressor: compress, minTokens: 0, defaultOn: mode === 'on', logger });
  // The retrieval router on the middleware's store (REST and MCP), behind the app's body parser when it has one.
  void headroom.retrievalStore.put(contentHash(SEEDED_ORIGINAL), { original: SEEDED_ORIGINAL, source: 'local', createdAt: Date.now() }, '*');
  app.use(headroomRetrieval({ store: headroom.retrievalStore, authorize: () => ({ all: true }), logger }));
  app.use('/v1', headroom);
  app.use(
    '/v1',
    createProxyMiddleware({
      target: `http://127.0.0.1:${upstreamPort}/v1`,
      changeOrigin: true,
      on: chain === 'json-fix' ? { proxyReq: fixRequestBody } : undefined,
    }),
  );
  // Tags the error and hands it on: the status and body stay those of Express's final handler.
  app.use((err: any, _req: any, res: any, next: (e: unknown) => void) => {
    const type = typeof err?.type === 'string' && BODY_PARSER_TYPES.has(err.type) ? err.type : 'other';
    process.stderr.write(`[express error] ${type} status=${err?.status ?? err?.statusCode ?? '-'} ${String(err?.message).slice(0, 300)}\n`);
    if (!res.headersSent) res.setHeader('x-crash-child-error', type);
    next(err);
  });
  return app;
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  const apps: Record<string, number> = {};
  for (const major of MAJORS) {
    for (const chain of CHAINS) {
      for (const mode of MODES) {
        const server = http.createServer(createApp(major, chain, mode, upstream));
        apps[`${chain}/e${major}/${mode}`] = await listen(server);
      }
    }
  }
  // The parent going away closes our stdin: exit with it.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, upstream, apps })}\n`);
}

main().catch((err) => {
  process.stderr.write(`CRASH-CHILD start failed: ${explain(err)}\n`);
  process.exit(1);
});
