/** Issue 7 point 1 and 3, and issue 2 point 10: breaker, in-flight bound, client abort, the record. */
import http from 'node:http';
import request from 'supertest';
import { captureLogger, startStack, type Stack } from '../kit/app';
import { clone, openaiAgent } from '../kit/fixtures';

let stack: Stack;
afterEach(async () => stack?.close());
const body = () => ({ ...clone(openaiAgent().body), guardrails: ['headroom-compression'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('circuit breaker: opens after consecutive failures, skips the service, probes, closes', async () => {
  const { lines, logger } = captureLogger();
  stack = await startStack({ mode: 'status500', headroom: { breaker: { failureThreshold: 2, cooldownMs: 300 }, logger } });
  for (let i = 0; i < 3; i++) expect((await request(stack.url).post('/v1/chat/completions').send(body())).status).toBe(200);
  expect(stack.standIn.calls).toHaveLength(2);
  expect(stack.results.map((r) => r.error?.code)).toEqual(['HEADROOM_HTTP_STATUS', 'HEADROOM_HTTP_STATUS', 'HEADROOM_CIRCUIT_OPEN']);
  expect(stack.results[2].breaker).toBe('open');
  expect(stack.headroom.stats().breaker).toBe('open');
  expect(stack.upstream.requests).toHaveLength(3); // every request still went on, uncompressed
  await sleep(350);
  stack.standIn.mode = 'ok';
  await request(stack.url).post('/v1/chat/completions').send(body());
  expect(stack.results[3].status).toBe('compressed');
  expect(stack.headroom.stats().breaker).toBe('closed');
  const transitions = lines.filter((l) => (l.obj as any).to !== undefined).map((l) => (l.obj as any).to);
  expect(transitions).toEqual(['open', 'half_open', 'closed']);
});

test('a failed probe re-opens the breaker', async () => {
  stack = await startStack({ mode: 'status503', headroom: { breaker: { failureThreshold: 1, cooldownMs: 200 } } });
  await request(stack.url).post('/v1/chat/completions').send(body());
  await sleep(250);
  await request(stack.url).post('/v1/chat/completions').send(body());
  await request(stack.url).post('/v1/chat/completions').send(body());
  expect(stack.standIn.calls).toHaveLength(2);
  expect(stack.results[2].error?.code).toBe('HEADROOM_CIRCUIT_OPEN');
});

test('in-flight bound: beyond maxInFlight a request goes on uncompressed at once, not queued', async () => {
  stack = await startStack({ mode: 'late', lateMs: 300, headroom: { maxInFlight: 1 } });
  const other = clone(openaiAgent().body);
  other.messages[5].content += ' (another output)';
  const [a, b] = await Promise.all([
    request(stack.url).post('/v1/chat/completions').send(body()),
    (async () => {
      await sleep(50);
      return request(stack.url)
        .post('/v1/chat/completions')
        .send({ ...other, guardrails: ['headroom-compression'] });
    })(),
  ]);
  expect(a.status).toBe(200);
  expect(b.status).toBe(200);
  const codes = stack.results.map((r) => r.error?.code ?? r.status).sort();
  expect(codes).toEqual(['HEADROOM_OVERLOADED', 'compressed']);
  expect(stack.standIn.calls).toHaveLength(1);
});

test('a client that goes away during compression aborts the service call; nothing goes upstream', async () => {
  stack = await startStack({ mode: 'hang', headroom: { timeoutMs: 10_000 } });
  const u = new URL(stack.url);
  const payload = Buffer.from(JSON.stringify(body()));
  await new Promise<void>((resolve) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    });
    req.on('error', () => resolve());
    req.end(payload);
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 200);
  });
  for (let i = 0; i < 50 && stack.results.length === 0; i++) await sleep(20);
  expect(stack.results[0]).toMatchObject({ status: 'failed', error: { code: 'HEADROOM_ABORTED' } });
  expect(stack.upstream.requests).toHaveLength(0);
  expect(stack.headroom.stats().inFlight).toBe(0);
  expect(stack.headroom.stats().breaker).toBe('closed'); // a client leaving is not the service failing
});

test('res.locals.headroom and onResult carry the same record, once per decided request', async () => {
  const locals: any[] = [];
  stack = await startStack({
    between: [
      (_req, res, next) => {
        locals.push(res.locals.headroom);
        next();
      },
    ],
  });
  const res = await request(stack.url).post('/v1/chat/completions').send(body());
  expect(res.status).toBe(200);
  expect(stack.results).toHaveLength(1);
  const seen: any = stack.results[0];
  expect(locals).toEqual([seen]);
  expect(seen).toMatchObject({
    status: 'compressed',
    guardrail: 'headroom-compression',
    transformsApplied: ['standin:head'],
    ccrHashes: ['0123456789abcdef01234567'],
    partsSent: 1,
    partsCompressed: 1,
    breaker: 'closed',
  });
  expect(seen.tokensSaved).toBe(seen.tokensBefore - seen.tokensAfter);
  expect(seen.compressionRatio).toBeCloseTo(seen.tokensAfter / seen.tokensBefore);
  expect(seen.endedAt).toBeGreaterThanOrEqual(seen.startedAt);
  expect(seen.durationMs).toBeGreaterThan(0);
  expect(JSON.stringify(seen)).not.toContain('orders'); // no message content in the record
});

test('nothing of the messages is logged at any level', async () => {
  const { lines, logger } = captureLogger();
  stack = await startStack({ mode: 'status500', headroom: { logger, defaultOn: true, breaker: { failureThreshold: 1, cooldownMs: 100000 } } });
  const b = clone(openaiAgent().body);
  b.messages[5].content = 'SECRET-CONTENT ' + b.messages[5].content;
  await request(stack.url).post('/v1/chat/completions').send(b);
  await request(stack.url).post('/v1/chat/completions').send(b);
  expect(lines.length).toBeGreaterThan(0);
  expect(JSON.stringify(lines)).not.toContain('SECRET-CONTENT');
});

test('a service reply that arrives after the client has gone is dropped; nothing upstream, no error', async () => {
  stack = await startStack({ mode: 'late', lateMs: 300, headroom: { timeoutMs: 5000 } });
  const u = new URL(stack.url);
  const payload = Buffer.from(JSON.stringify(body()));
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': payload.length },
  });
  req.on('error', () => {});
  req.end(payload);
  await sleep(100);
  req.destroy();
  await sleep(400);
  expect(stack.standIn.calls).toHaveLength(1);
  expect(stack.upstream.requests).toHaveLength(0);
  expect(stack.results[0].error?.code).toBe('HEADROOM_ABORTED');
});

describe('framing attacks are refused before anything is forwarded', () => {
  async function rawExchange(head: string, bodyText: string): Promise<string> {
    const net = await import('node:net');
    const u = new URL(stack.url);
    return new Promise((resolve) => {
      const sock = net.connect(Number(u.port), u.hostname, () => sock.write(head + '\r\n' + bodyText));
      let out = '';
      sock.on('data', (d) => (out += d));
      sock.on('close', () => resolve(out));
      sock.on('error', () => resolve(out));
      setTimeout(() => sock.destroy(), 1000);
    });
  }
  const payload = JSON.stringify({ model: 'm', messages: [{ role: 'tool', content: 'x'.repeat(50) }] });

  test('conflicting Content-Length headers', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nContent-Length: 5\r\n`;
    const out = await rawExchange(head, payload);
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(stack.upstream.requests).toHaveLength(0);
  });

  test('Content-Length with Transfer-Encoding: chunked', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const chunked = `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`;
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n`;
    const out = await rawExchange(head, chunked);
    // Node (20.x, llhttp) refuses the ambiguous framing outright: nothing reaches the middleware or upstream.
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(stack.upstream.requests).toHaveLength(0);
  });
});

test('a real pino logger works as the logger, and gets no message content', async () => {
  const pino = (await import('pino')).default;
  const lines: string[] = [];
  const { Writable } = await import('node:stream');
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  stack = await startStack({ mode: 'status500', headroom: { logger, defaultOn: true } });
  const b = clone(openaiAgent().body);
  b.messages[5].content = 'SECRET-CONTENT ' + b.messages[5].content;
  await request(stack.url).post('/v1/chat/completions').send(b);
  await sleep(20);
  const parsed = lines.map((l) => JSON.parse(l));
  expect(parsed.some((l) => l.level === 40 && l.code === 'HEADROOM_HTTP_STATUS')).toBe(true);
  expect(lines.join('')).not.toContain('SECRET-CONTENT');
});
