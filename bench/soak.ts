/**
 * Soak (issue 7): 100 concurrent connections for 60 s, a mix of opted-in, not opted-in and bypass
 * requests, Headroom faults injected at random. Checks every request: the client got its own answer,
 * the upstream got exactly one body for it, and that body is the client's own (not opted in: byte for
 * byte; opted in: identical but for tool text, which is the original or its compressed form). Samples
 * the gateway's RSS and reports growth.
 *
 *   npx ts-node --transpile-only bench/soak.ts [--seconds 60] [--connections 100]
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Pool } from 'undici';

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : def);
const SECONDS = arg('--seconds', 60);
const CONNECTIONS = arg('--connections', 100);

type Kind = 'opted' | 'plain' | 'bypass';
const expected = new Map<string, { kind: Kind; body: Buffer; tool: string }>();
const seenUpstream = new Map<string, number>();
const problems: string[] = [];
const faultCounts: Record<string, number> = {};

function toolText(id: string): string {
  const rows = Array.from({ length: 80 }, (_, i) => `{"id":${i},"req":"${id}","status":"${i % 13 ? 'ok' : 'failed'}","v":${(i * 7919) % 1000}}`);
  return `[${rows.join(',')}]`;
}

function makeBody(id: string, kind: Kind): Buffer {
  const body: any = {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'soak' },
      { role: 'user', content: `request ${id} — ünïcode ✓` },
      { role: 'assistant', content: null, tool_calls: [{ id: `call_${id}`, type: 'function', function: { name: 'q', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: `call_${id}`, content: toolText(id) },
    ],
  };
  if (kind !== 'plain') body.guardrails = ['headroom-compression'];
  return Buffer.from(JSON.stringify(body));
}

/** Upstream: checks the body against what the client with that id sent, answers with the id. */
function startUpstream(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const id = String(req.headers['x-soak-id']);
      seenUpstream.set(id, (seenUpstream.get(id) ?? 0) + 1);
      const exp = expected.get(id);
      if (!exp) problems.push(`upstream got unknown id ${id}`);
      else if (Number(req.headers['content-length']) !== raw.length) problems.push(`${id}: content-length mismatch`);
      else if (exp.kind === 'plain') {
        if (!raw.equals(exp.body)) problems.push(`${id}: plain body changed`);
      } else {
        try {
          const got = JSON.parse(raw.toString('utf8'));
          const want = JSON.parse(exp.body.toString('utf8'));
          delete want.guardrails;
          const gotTool = got.messages[3].content;
          const okTool = gotTool === exp.tool || (typeof gotTool === 'string' && gotTool.startsWith(`[standin:${exp.tool.length} chars] ${exp.tool.slice(0, 40)}`));
          got.messages[3].content = exp.tool;
          if (!okTool) problems.push(`${id}: tool text is neither its own original nor its own compression`);
          else if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${id}: body differs beyond tool text`);
          if (req.headers['x-headroom-bypass'] !== undefined) problems.push(`${id}: bypass header forwarded`);
        } catch {
          problems.push(`${id}: upstream body is not JSON`);
        }
      }
      const out = JSON.stringify({ id });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  // Longer than the proxy's idle reuse, so a pooled socket is never closed under a request in flight.
  server.keepAliveTimeout = 120_000;
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

/** Headroom stand-in with random faults. */
function startHeadroom(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const roll = Math.random();
      const fault =
        roll < 0.6
          ? 'ok'
          : roll < 0.7
            ? 'status500'
            : roll < 0.75
              ? 'hang'
              : roll < 0.8
                ? 'reset'
                : roll < 0.85
                  ? 'invalid_json'
                  : roll < 0.9
                    ? 'late'
                    : roll < 0.95
                      ? 'row_count'
                      : 'status503';
      faultCounts[fault] = (faultCounts[fault] ?? 0) + 1;
      if (fault === 'hang') return void res.on('close', () => {});
      if (fault === 'reset') return req.socket.destroy();
      const send = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (fault === 'status500' || fault === 'status503') return send(fault === 'status500' ? 500 : 503, '{"error":{"type":"compression_error","message":"x"}}');
      if (fault === 'invalid_json') return send(200, '{"messages":[');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const messages = body.messages.map((m: any) =>
        typeof m.content === 'string' && m.content.length > 200 ? { ...m, content: `[standin:${m.content.length} chars] ${m.content.slice(0, 60)}` } : m,
      );
      if (fault === 'row_count') messages.pop();
      const reply = JSON.stringify({ messages, tokens_before: 100, tokens_after: 10, tokens_saved: 90, compression_ratio: 0.1, transforms_applied: ['soak'] });
      if (fault === 'late') {
        const t = setTimeout(() => send(200, reply), 250 + Math.random() * 200);
        return void res.on('close', () => clearTimeout(t));
      }
      send(200, reply);
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

async function main() {
  const upstream = await startUpstream();
  const headroom = await startHeadroom();
  const upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const hrUrl = `http://127.0.0.1:${(headroom.address() as AddressInfo).port}`;
  const child = fork(join(__dirname, 'soak-gateway.ts'), [upUrl, hrUrl], {
    execArgv: ['--expose-gc', '-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port: number = await new Promise((r) => child.once('message', (m: any) => r(m.port)));
  const ask = (): Promise<{ rss: number; heapAfterGc: number; results: Record<string, number> }> =>
    new Promise((r) => {
      child.once('message', (m: any) => r(m));
      child.send('rss');
    });

  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  let next = 0;
  let ok = 0;
  let sent = 0;
  const kinds: Record<Kind, number> = { opted: 0, plain: 0, bypass: 0 };
  const rss: number[] = [];
  const heap: number[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  const sampler = setInterval(async () => {
    const m = await ask();
    rss.push(m.rss);
    heap.push(m.heapAfterGc);
  }, 2000);

  async function worker() {
    while (Date.now() < deadline) {
      const id = `r${next++}`;
      const roll = Math.random();
      const kind: Kind = roll < 0.5 ? 'opted' : roll < 0.85 ? 'plain' : 'bypass';
      kinds[kind]++;
      const body = makeBody(id, kind);
      expected.set(id, { kind, body, tool: toolText(id) });
      sent++;
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-soak-id': id };
      if (kind === 'bypass') headers['x-headroom-bypass'] = 'true';
      try {
        const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body });
        const text = await res.body.text();
        if (res.statusCode !== 200) problems.push(`${id}: client got ${res.statusCode}`);
        else if (JSON.parse(text).id !== id) problems.push(`${id}: client got someone else's answer`);
        else ok++;
      } catch (err) {
        problems.push(`${id}: client error ${(err as Error).message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  clearInterval(sampler);
  const final = await ask();
  await pool.close();
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  upstream.closeAllConnections();
  headroom.closeAllConnections();
  upstream.close();
  headroom.close();

  for (const [id] of expected) {
    const n = seenUpstream.get(id) ?? 0;
    if (n !== 1) problems.push(`${id}: upstream saw it ${n} times`);
  }
  const warm = rss.slice(Math.floor(rss.length / 6)); // after the first sixth: warmed up
  const first = warm.slice(0, 5).reduce((a, b) => a + b, 0) / Math.min(5, warm.length);
  const last = warm.slice(-5).reduce((a, b) => a + b, 0) / Math.min(5, warm.length);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(
    `soak: ${SECONDS}s, ${CONNECTIONS} connections, ${sent} requests (${kinds.opted} opted in, ${kinds.plain} not, ${kinds.bypass} bypass), ${(sent / SECONDS).toFixed(0)} req/s`,
  );
  console.log(`service faults injected: ${JSON.stringify(faultCounts)}`);
  console.log(`middleware outcomes: ${JSON.stringify(final.results)}`);
  console.log(`answered 200 with their own id: ${ok}/${sent}; problems: ${problems.length}`);
  for (const p of problems.slice(0, 20)) console.log(`  - ${p}`);
  const hw = heap.slice(Math.floor(heap.length / 6));
  const h0 = hw.slice(0, 3).reduce((a, b) => a + b, 0) / Math.min(3, hw.length);
  const h1 = hw.slice(-3).reduce((a, b) => a + b, 0) / Math.min(3, hw.length);
  console.log(`gateway live heap after GC (warm): first ${mb(h0)} MB, last ${mb(h1)} MB, growth ${(((h1 - h0) / h0) * 100).toFixed(1)}%`);
  console.log(`gateway RSS (warm): first ${mb(first)} MB, last ${mb(last)} MB, peak ${mb(Math.max(...rss))} MB, growth ${(((last - first) / first) * 100).toFixed(1)}%`);
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
