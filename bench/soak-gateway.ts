/**
 * The gateway under soak, in its own process so its RSS is its own: express 5 →
 * headroomCompression → http-proxy-middleware 3 (keep-alive) → the soak's upstream.
 * Argv: <upstreamUrl> <headroomUrl>. Prints its port on stdout; answers IPC 'rss' with its RSS.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { headroomCompression } from '../lib';

const [upstreamUrl, headroomUrl] = process.argv.slice(2);
const app = express();
const results: Record<string, number> = {};
app.use(
  '/v1',
  headroomCompression({
    apiBase: headroomUrl,
    minTokens: 0,
    timeoutMs: 1000,
    // The soak injects faults at random; keep the breaker out of the way so every fault is met.
    breaker: { failureThreshold: 1_000_000, cooldownMs: 1 },
    logger: { debug() {}, info() {}, warn() {}, error: (o, m) => console.error(m, o) },
    onResult: (r) => {
      const k = r.error?.code ?? r.status;
      results[k] = (results[k] ?? 0) + 1;
    },
  }),
);
app.use('/v1', createProxyMiddleware({ target: `${upstreamUrl}/v1`, changeOrigin: true, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) }));
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (m: any) => {
  if (m === 'rss') {
    const rss = process.memoryUsage().rss;
    // Live heap after a full collection tells a leak from a lazily collected heap.
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ rss, heapAfterGc: process.memoryUsage().heapUsed, results });
  }
  if (m === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
