/**
 * The two stand-ins the gateways talk to, each run in its own process (`servers.ts upstream` /
 * `servers.ts headroom`) so their CPU is not charged to the gateway and their memory is not in its RSS.
 *
 * - upstream: the provider. Reads the whole body (as a real provider would before answering) and
 *   answers a small JSON 200. Counts requests and bytes, so the orchestrator can check that every
 *   request the load generator completed really went through, and how many bytes were forwarded.
 * - headroom: an instant `/v1/compress` (HEADROOM.md): same messages, same order, tool text longer
 *   than 200 characters replaced by a short head. Counts calls, so a cell shows whether the memo hit.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sendReady, serveParent } from './procs';

interface Counters {
  requests: number;
  bytes: number;
  bad: number;
}

let cpuAtTake = process.cpuUsage();

function listen(server: http.Server): Promise<string> {
  // Loopback only; keep-alive longer than any pause between cells so the gateway's pool is reused.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function track(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

function readAll(req: http.IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const UPSTREAM_REPLY = {
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'bench',
  content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn',
  usage: { input_tokens: 1, output_tokens: 1 },
};

/** Reads the counters and zeroes them in one step, so a cell's figures are exactly its own. */
export function takeCounters(counters: Counters): Counters {
  const out = { ...counters };
  counters.requests = 0;
  counters.bytes = 0;
  counters.bad = 0;
  return out;
}

export function createUpstream(counters: Counters): http.Server {
  return http.createServer((req, res) => {
    readAll(req, (body) => {
      counters.requests++;
      counters.bytes += body.length;
      // A forwarded body must be what Content-Length promised; a mismatch means broken replay.
      const declared = Number(req.headers['content-length'] ?? -1);
      if (declared >= 0 && declared !== body.length) counters.bad++;
      send(res, 200, UPSTREAM_REPLY);
    });
  });
}

const HEAD = 60;

function shorten(text: string): string {
  return text.length <= 200 ? text : `[bench-standin:${text.length} chars] ${text.slice(0, HEAD)}`;
}

export function createHeadroom(counters: Counters): http.Server {
  return http.createServer((req, res) => {
    readAll(req, (raw) => {
      if (req.method !== 'POST' || req.url !== '/v1/compress') return send(res, 404, { error: 'not found' });
      counters.requests++;
      counters.bytes += raw.length;
      let body: any;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        counters.bad++;
        return send(res, 400, { error: { type: 'invalid_request', message: 'invalid JSON' } });
      }
      if (!Array.isArray(body?.messages) || typeof body?.model !== 'string') {
        counters.bad++;
        return send(res, 400, { error: { type: 'invalid_request', message: 'messages and model are required' } });
      }
      const protect = Number.isInteger(body.config?.protect_recent) ? body.config.protect_recent : 2;
      let before = 0;
      let after = 0;
      const messages = body.messages.map((m: any, i: number) => {
        const text = typeof m?.content === 'string' ? m.content : '';
        before += Math.ceil(text.length / 4);
        if (m?.role !== 'tool' || typeof m.content !== 'string' || i >= body.messages.length - protect) {
          after += Math.ceil(text.length / 4);
          return m;
        }
        const c = shorten(m.content);
        after += Math.ceil(c.length / 4);
        return { ...m, content: c };
      });
      send(res, 200, {
        messages,
        tokens_before: before,
        tokens_after: after,
        tokens_saved: before - after,
        compression_ratio: before === 0 ? 1 : after / before,
        transforms_applied: ['bench-standin:head'],
        ccr_hashes: [],
      });
    });
  });
}

async function main(role: string): Promise<void> {
  const counters: Counters = { requests: 0, bytes: 0, bad: 0 };
  const server = role === 'upstream' ? createUpstream(counters) : role === 'headroom' ? createHeadroom(counters) : undefined;
  if (!server) throw new Error(`servers.ts: role must be upstream or headroom, got ${role}`);
  const sockets = track(server);
  const url = await listen(server);
  serveParent(
    {
      take: () => {
        const cpu = process.cpuUsage(cpuAtTake);
        cpuAtTake = process.cpuUsage();
        return { ...takeCounters(counters), cpuUs: cpu.user + cpu.system };
      },
    },
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  sendReady({ url, pid: process.pid });
}

if (require.main === module) {
  main(process.argv[2]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
