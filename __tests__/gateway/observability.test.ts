/**
 * The spend log, /metrics, /health, routing, streaming without buffering, and failures answered in
 * the provider's error shape.
 */
import type { ServerResponse } from 'node:http';
import { createGateway } from '../../examples/gateway/app';
import { ANTHROPIC_KEY, MASTER_KEY, anthropicToolBody, openaiToolBody, post, quiet, startGatewayStack, type GatewayStack } from './helpers';

let stack: GatewayStack;
let key: string;
beforeAll(async () => {
  stack = await startGatewayStack();
  key = (await stack.generateKey({ key_alias: 'obs', guardrails: ['headroom-compression'], models: ['claude-*', 'gpt-4o'] })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
  stack.upstream.reply = undefined;
});

const master = { authorization: `Bearer ${MASTER_KEY}` };

async function spendLogs(query = '') {
  const res = await fetch(`${stack.url}/spend/logs${query}`, { headers: master });
  return { status: res.status, json: (await res.json()) as any };
}

describe('GET /spend/logs', () => {
  test('one row per request, with the headroom record, the upstream timing and no message content', async () => {
    const res = await post(`${stack.url}/v1/messages?beta=true`, anthropicToolBody({ stream: true }), { 'x-api-key': key });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-litellm-call-id')!;
    await stack.spendRow(id);
    const { status, json } = await spendLogs(`?request_id=${id}`);
    expect(status).toBe(200);
    expect(json).toHaveLength(1);
    const row = json[0];
    expect(row).toMatchObject({
      request_id: id,
      key_alias: 'obs',
      provider: 'anthropic',
      method: 'POST',
      path: '/v1/messages',
      model: 'claude-sonnet-4-6',
      stream: true,
      status: 200,
      error: null,
      upstream_status: 200,
      headroom_status: 'compressed',
      headroom_error_code: null,
      transforms: ['standin:head'],
      applied_guardrails: 'headroom-compression',
    });
    expect(row.tokens_before).toBeGreaterThan(row.tokens_after);
    expect(row.tokens_saved).toBe(row.tokens_before - row.tokens_after);
    expect(row.forwarded_bytes).toBeLessThan(row.request_bytes);
    expect(row.headroom).toMatchObject({ status: 'compressed', guardrail: 'headroom-compression', tokensSaved: row.tokens_saved, partsCompressed: 1 });
    expect(row.compress_ms).toBe(row.headroom.durationMs);
    // The lifecycle, in order: received → headroom pre-call step → upstream call → response.
    const order = [row.received_at, row.headroom_started_at, row.headroom_ended_at, row.upstream_started_at, row.upstream_first_byte_at, row.upstream_ended_at, row.ended_at];
    expect(order.every((t) => typeof t === 'number')).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Never any message content.
    expect(JSON.stringify(row)).not.toContain('item-1');
  });

  test('rejected requests are logged too; newest first; ?limit; master key only', async () => {
    const bad = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: 'Bearer sk-unknown' });
    const forbidden = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ model: 'gpt-3.5-turbo' }), { authorization: `Bearer ${key}` });
    await stack.spendRow(bad.headers.get('x-litellm-call-id')!);
    await stack.spendRow(forbidden.headers.get('x-litellm-call-id')!);
    const { json } = await spendLogs('?limit=2');
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({
      request_id: forbidden.headers.get('x-litellm-call-id'),
      status: 403,
      error: 'model_not_allowed',
      key_alias: 'obs',
      headroom_status: null,
      upstream_started_at: null,
    });
    expect(json[1]).toMatchObject({ request_id: bad.headers.get('x-litellm-call-id'), status: 401, error: 'unauthorized', key_alias: null });
    expect(stack.upstream.requests).toHaveLength(0);

    expect((await spendLogs('?limit=0')).status).toBe(400);
    expect((await fetch(`${stack.url}/spend/logs`)).status).toBe(401);
    expect((await fetch(`${stack.url}/spend/logs`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });
});

describe('GET /metrics, /health, /', () => {
  test('Prometheus text: tokens saved, compress latency, requests by headroom status', async () => {
    const a = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}` });
    const b = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}`, 'x-headroom-bypass': 'true' });
    // Metrics are counted with the spend-log row, when each response closes.
    await stack.spendRow(a.headers.get('x-litellm-call-id')!);
    await stack.spendRow(b.headers.get('x-litellm-call-id')!);
    const res = await fetch(`${stack.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^headroom_tokens_saved_total\{provider="openai",key_alias="obs"\} [1-9]\d*$/m);
    expect(text).toMatch(/^headroom_compress_duration_seconds_count\{status="compressed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^headroom_requests_total\{status="compressed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^headroom_requests_total\{status="bypassed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^gateway_requests_total\{provider="openai",code="200",headroom_status="bypassed"\} [1-9]\d*$/m);
  });

  test("/health answers 200 without a key; HEAD / (Claude Code's probe) answers 200", async () => {
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', compression: 'service' });
    expect((await fetch(`${stack.url}/`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('routing and proxying', () => {
  test('GET /v1/models goes to the provider the client speaks (anthropic-version header) with its key', async () => {
    const a = await fetch(`${stack.url}/v1/models`, { headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' } });
    expect(a.status).toBe(200);
    expect(((await a.json()) as any).data[0].type).toBe('model');
    expect(stack.upstream.requests[0].headers['x-api-key']).toBe(ANTHROPIC_KEY);
    const o = await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await o.json()) as any).object).toBe('list');
    expect(stack.upstream.requests[1].headers.authorization).toMatch(/^Bearer sk-openai-/);
  });

  test('count_tokens is forwarded to Anthropic', async () => {
    const res = await post(`${stack.url}/v1/messages/count_tokens`, { model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key });
    expect(res.status).toBe(200);
    expect(res.json.input_tokens).toBeGreaterThan(0);
    expect(stack.upstream.requests[0].path).toBe('/v1/messages/count_tokens');
  });

  test('paths the gateway does not forward (files, batches, fine-tuning) get 404 in the provider shape', async () => {
    const files = await fetch(`${stack.url}/v1/files`, { headers: { authorization: `Bearer ${key}` } });
    expect(files.status).toBe(404);
    expect(((await files.json()) as any).error.code).toBe('route_not_found');
    const batches = await post(`${stack.url}/v1/messages/batches`, {}, { 'x-api-key': key });
    expect(batches.status).toBe(404);
    expect(batches.json.type).toBe('error');
    expect(stack.upstream.requests).toHaveLength(0);
  });

  test("bodies past express.json's 100 KB default pass; invalid JSON gets 400 in the provider shape", async () => {
    const big: any = anthropicToolBody();
    big.messages[2].content[0].content = 'x'.repeat(3 * 1024 * 1024);
    const ok = await post(`${stack.url}/v1/messages`, big, { 'x-api-key': key });
    expect(ok.status).toBe(200);
    const bad = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: '{"model": ' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.type).toBe('invalid_request_error');
  });

  test('a body over the limit gets 413 in the provider shape', async () => {
    const small = await startGatewayStack({ config: { bodyLimit: '10kb' } });
    try {
      const { key: k } = await small.generateKey();
      const res = await post(`${small.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${k}` });
      expect(res.status).toBe(413);
      expect(res.json.error.code).toBe('request_too_large');
      expect(small.upstream.requests).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  test('SSE is streamed, not buffered: the first event reaches the client before the upstream finishes', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    stack.upstream.reply = (_r, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start"}\n\n');
      void released.then(() => res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
    };
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(anthropicToolBody({ stream: true })),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('message_start'); // arrived while the upstream is still holding the stream open
    release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toContain('message_stop');
  });

  test('a client that goes away mid-stream: the upstream call is cut, the row says client_closed', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    stack.upstream.reply = (_r, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start"}\n\n');
      res.on('close', () => upstreamClosed()); // never ends by itself
    };
    const ctrl = new AbortController();
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(anthropicToolBody({ stream: true })),
      signal: ctrl.signal,
    });
    const id = res.headers.get('x-litellm-call-id')!;
    await res.body!.getReader().read();
    ctrl.abort();
    await closed;
    expect(await stack.spendRow(id)).toMatchObject({ status: 200, error: 'client_closed', stream: true, upstream_ended_at: null });
  });

  test('an unreachable upstream gets 502 in the provider shape, logged as upstream_unreachable', async () => {
    const down = createGateway({
      masterKey: MASTER_KEY,
      databasePath: ':memory:',
      anthropicUpstream: 'http://127.0.0.1:1',
      openaiUpstream: 'http://127.0.0.1:1',
      headroomApiBase: stack.service!.url,
      logger: quiet,
    });
    const server = down.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const { key: k } = await down.keys.generate({});
      const res = await post(`${url}/v1/messages`, anthropicToolBody(), { 'x-api-key': k });
      expect(res.status).toBe(502);
      expect(res.json).toEqual({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('ECONNREFUSED') } });
      const id = res.headers.get('x-litellm-call-id')!;
      for (let i = 0; i < 100 && !(await down.spend.list({ request_id: id })).length; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await down.spend.list({ request_id: id }))[0]).toMatchObject({ status: 502, error: 'upstream_unreachable' });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await down.close();
    }
  });
});
