/**
 * What reaches the upstream, whatever the client's framing: `Expect: 100-continue` (curl sends it on
 * its own for bodies over 1 MB) used to make http-proxy skip the gateway's proxyReq hook, so the
 * upstream got no provider key, the bypass header, and (for JSON) no body at all. And
 * `x-headroom-bypass` never goes upstream, on any method. The gateway drops `Expect` itself, so
 * this holds whether or not the middleware (which now drops it when it replays a body) sees the request.
 *
 * Raw http.request, so the test controls the framing (Content-Length or chunked) and waits for
 * `100 Continue` as curl does; every request has an idle timeout, so a hang fails instead of
 * stalling jest.
 */
import http from 'node:http';
import { ANTHROPIC_KEY, OPENAI_KEY, anthropicToolBody, openaiToolBody, startGatewayStack, toolOutputOf, type GatewayStack } from './helpers';
import type { StandInRequest } from '../../examples/gateway/upstream-standin';

interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The gateway answered `100 Continue` before the body was sent. */
  continued: boolean;
}

interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  framing?: 'content-length' | 'chunked';
}

const IDLE_TIMEOUT_MS = 10_000;

function rawRequest(base: string, r: RawRequest): Promise<RawResult> {
  const u = new URL(base);
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (r.body && r.framing === 'chunked') headers['transfer-encoding'] = 'chunked';
  else if (r.body) headers['content-length'] = String(r.body.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), method: r.method, path: r.path, headers, agent: false, timeout: IDLE_TIMEOUT_MS });
    let continued = false;
    const sendBody = () => {
      if (r.body && r.framing === 'chunked') {
        // Several chunks, so the gateway cannot get it in one read.
        const step = Math.ceil(r.body.length / 5);
        for (let i = 0; i < r.body.length; i += step) req.write(r.body.subarray(i, i + step));
      } else if (r.body) {
        req.write(r.body);
      }
      req.end();
    };
    if (headers.expect) {
      // As curl: headers first, the body only after 100 Continue.
      req.on('continue', () => {
        continued = true;
        sendBody();
      });
      req.flushHeaders();
    } else {
      sendBody();
    }
    req.on('timeout', () => req.destroy(new Error(`no answer within ${IDLE_TIMEOUT_MS} ms: the request hung`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), continued }));
      res.on('error', reject);
    });
  });
}

let stack: GatewayStack;
let compressing: string;
let plain: string;
beforeAll(async () => {
  stack = await startGatewayStack();
  compressing = (await stack.generateKey({ key_alias: 'compressing', guardrails: ['headroom-compression'] })).key;
  plain = (await stack.generateKey({ key_alias: 'plain' })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
});

/** The one request the upstream got: the provider's key, none of the client's, no bypass header or Expect. */
function forwarded(providerHeader: 'x-api-key' | 'authorization', value: string, clientKey: string): StandInRequest {
  expect(stack.upstream.requests).toHaveLength(1);
  const got = stack.upstream.requests[0];
  expect(got.headers[providerHeader]).toBe(value);
  expect(got.headers['x-headroom-bypass']).toBeUndefined();
  expect(got.headers.expect).toBeUndefined();
  expect(JSON.stringify(got.headers)).not.toContain(clientKey);
  expect(got.raw.includes(clientKey)).toBe(false);
  // The whole body arrived, as announced.
  if (got.headers['content-length'] !== undefined) expect(got.raw.length).toBe(Number(got.headers['content-length']));
  return got;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const framings = ['content-length', 'chunked'] as const;

describe.each(framings)('Expect: 100-continue, %s body', (framing) => {
  test('compressed (key with the guardrail, big tool output): provider key added, body compressed and whole', async () => {
    const body = anthropicToolBody();
    const res = await rawRequest(stack.url, {
      method: 'POST',
      path: '/v1/messages',
      headers: { 'content-type': 'application/json', 'x-api-key': compressing, 'anthropic-version': '2023-06-01', expect: '100-continue' },
      body: json(body),
      framing,
    });
    expect(res.continued).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    const got = forwarded('x-api-key', ANTHROPIC_KEY, compressing);
    expect(toolOutputOf(got.json).startsWith('[standin:')).toBe(true);
    // Everything but the tool output arrives as sent.
    expect({ ...got.json, messages: got.json.messages.slice(0, 2) }).toEqual({ ...body, messages: body.messages.slice(0, 2) });
    expect((await stack.spendRow(res.headers['x-litellm-call-id'] as string)).headroom_status).toBe('compressed');
  });

  test('not compressed (x-headroom-bypass): provider key added, bypass header gone, body exactly as sent', async () => {
    const body = openaiToolBody();
    const res = await rawRequest(stack.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${compressing}`, 'x-headroom-bypass': 'true', expect: '100-continue' },
      body: json(body),
      framing,
    });
    expect(res.continued).toBe(true);
    expect(res.status).toBe(200);
    const got = forwarded('authorization', `Bearer ${OPENAI_KEY}`, compressing);
    expect(got.json).toEqual(body);
    expect((await stack.spendRow(res.headers['x-litellm-call-id'] as string)).headroom_status).toBe('bypassed');
  });

  test('not compressed (key without the guardrail), body over 1 MB as curl would send it', async () => {
    const body = openaiToolBody({ messages: [{ role: 'user', content: 'x'.repeat(1_200_000) }] });
    const res = await rawRequest(stack.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${plain}`, expect: '100-continue' },
      body: json(body),
      framing,
    });
    expect(res.status).toBe(200);
    expect(forwarded('authorization', `Bearer ${OPENAI_KEY}`, plain).json).toEqual(body);
  });

  test('non-JSON POST: answered (400, the gateway forwards JSON bodies only), nothing upstream', async () => {
    const res = await rawRequest(stack.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${plain}`, 'x-headroom-bypass': 'true', expect: '100-continue' },
      body: Buffer.from('model=gpt-4o '.repeat(10_000)),
      framing,
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.message).toContain('JSON object');
    expect(stack.upstream.requests).toHaveLength(0);
  });
});

describe('x-headroom-bypass never reaches the upstream', () => {
  test.each([
    ['GET', undefined],
    ['HEAD', undefined],
    ['GET', '100-continue'],
  ])('%s /v1/models (Expect: %s)', async (method, expectHeader) => {
    const res = await rawRequest(stack.url, {
      method,
      path: '/v1/models',
      headers: { authorization: `Bearer ${plain}`, 'X-Headroom-Bypass': 'true', ...(expectHeader ? { expect: expectHeader } : {}) },
    });
    expect(res.status).toBe(200);
    const got = forwarded('authorization', `Bearer ${OPENAI_KEY}`, plain);
    expect(got.method).toBe(method);
  });

  test('Anthropic model list (x-api-key) with the bypass header', async () => {
    const res = await rawRequest(stack.url, {
      method: 'GET',
      path: '/v1/models/claude-sonnet-4-6',
      headers: { 'x-api-key': plain, 'anthropic-version': '2023-06-01', 'x-headroom-bypass': 'true' },
    });
    expect(res.status).toBe(200);
    forwarded('x-api-key', ANTHROPIC_KEY, plain);
  });

  test('JSON POST with the bypass header on a key without the guardrail', async () => {
    const body = openaiToolBody();
    const res = await rawRequest(stack.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${plain}`, 'x-headroom-bypass': 'true' },
      body: json(body),
    });
    expect(res.status).toBe(200);
    expect(forwarded('authorization', `Bearer ${OPENAI_KEY}`, plain).json).toEqual(body);
  });
});
