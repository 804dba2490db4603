/** Point 9: bad requests get a clear provider-shaped 400/413; nothing half-forwarded; no pollution. */
import http from 'node:http';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import request from 'supertest';
import { startStack, type Stack } from '../kit/app';
import { clone, openaiAgent } from '../kit/fixtures';
import { postRaw } from '../kit/http';
import { toolRows } from '../kit/service-rows';

let stack: Stack;
afterEach(async () => stack?.close());

test('invalid JSON on an enabled route: 400 in OpenAI shape, nothing upstream', async () => {
  stack = await startStack({ headroom: { defaultOn: true } });
  const res = await request(stack.url).post('/v1/chat/completions').set('content-type', 'application/json').send('{"model": "gpt-4o", "messages": [');
  expect(res.status).toBe(400);
  expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
  expect(stack.upstream.requests).toHaveLength(0);
});

test('invalid JSON on /v1/messages: 400 in Anthropic shape', async () => {
  stack = await startStack({ headroom: { defaultOn: true } });
  const res = await request(stack.url).post('/v1/messages').set('content-type', 'application/json').send('{nope');
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  expect(stack.upstream.requests).toHaveLength(0);
});

test('a body over limit: 413 in provider shape, before reading it all; nothing upstream', async () => {
  stack = await startStack({ headroom: { defaultOn: true, limit: '1kb' } });
  const res = await request(stack.url).post('/v1/messages').send(openaiAgent().body);
  expect(res.status).toBe(413);
  expect(res.body).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
  expect(stack.upstream.requests).toHaveLength(0);
});

test('a chunked body over limit: 413', async () => {
  stack = await startStack({ headroom: { defaultOn: true, limit: 2048 } });
  const u = new URL(stack.url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on('error', () => {}); // the server may close while we write
    req.write('{"model":"x","messages":[{"role":"tool","content":"' + 'a'.repeat(4096));
    setTimeout(() => req.end('"}]}'), 50);
    setTimeout(() => reject(new Error('no answer')), 5000).unref();
  });
  expect(status).toBe(413);
  expect(stack.upstream.requests).toHaveLength(0);
});

test('a body shorter than its Content-Length never hangs the upstream', async () => {
  stack = await startStack({ headroom: { defaultOn: true } });
  const u = new URL(stack.url);
  const outcome = await new Promise<string>((resolve) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '500' } },
      (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      },
    );
    req.on('error', () => resolve('closed'));
    req.write('{"model":"x"');
    setTimeout(() => req.destroy(), 100);
  });
  // Always 'closed': the server cannot know the body is short until the client gives up (nothing
  // ends the request), so it neither answers nor forwards; our own destroy() is what ends it. A
  // 400 ('shorter than its Content-Length') needs the request to end, which this client never does.
  expect(outcome).toBe('closed');
  await new Promise((r) => setTimeout(r, 50));
  expect(stack.upstream.requests).toHaveLength(0);
  expect(stack.results).toHaveLength(0); // no decision was made: the body never finished arriving
});

test('__proto__ and constructor keys pollute nothing and are forwarded as sent', async () => {
  stack = await startStack({ headroom: { defaultOn: true } });
  const body = clone(openaiAgent().body);
  const text = JSON.stringify(body).replace('{', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},');
  const res = await request(stack.url).post('/v1/chat/completions').set('content-type', 'application/json').send(text);
  expect(res.status).toBe(200);
  expect(({} as any).polluted).toBeUndefined();
  expect((Object.prototype as any).polluted).toBeUndefined();
  const raw = stack.upstream.requests[0].raw.toString('utf8');
  expect(raw).toContain('"__proto__":{"polluted":true}');
  expect(stack.upstream.requests[0].json.messages[5].content).toMatch(/^\[standin:/);
});

describe.each([
  ['gzip', gzipSync],
  ['deflate', deflateSync],
  ['br', brotliCompressSync],
])('%s request bodies', (encoding, encode) => {
  test('decoded, compressed, forwarded as identity JSON with matching headers', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const bytes = encode(Buffer.from(JSON.stringify(openaiAgent().body)));
    const res = await postRaw(stack.url, '/v1/chat/completions', { 'content-type': 'application/json', 'content-encoding': encoding }, bytes);
    expect(res.status).toBe(200);
    const got = stack.upstream.requests[0];
    expect(got.headers['content-encoding']).toBeUndefined();
    expect(Number(got.headers['content-length'])).toBe(got.raw.length);
    expect(got.json.messages[5].content).toMatch(/^\[standin:/);
  });

  test('not enabled: forwarded untouched, still encoded', async () => {
    stack = await startStack();
    const bytes = encode(Buffer.from(JSON.stringify(openaiAgent().body)));
    await postRaw(stack.url, '/v1/chat/completions', { 'content-type': 'application/json', 'content-encoding': encoding }, bytes);
    const got = stack.upstream.requests[0];
    expect(got.headers['content-encoding']).toBe(encoding);
    expect(got.raw.equals(bytes)).toBe(true);
  });
});

test('an unknown content-encoding is forwarded untouched, never mislabelled', async () => {
  stack = await startStack({ headroom: { defaultOn: true } });
  const bytes = Buffer.from('not really zstd');
  await postRaw(stack.url, '/v1/chat/completions', { 'content-type': 'application/json', 'content-encoding': 'zstd' }, bytes);
  const got = stack.upstream.requests[0];
  expect(got.headers['content-encoding']).toBe('zstd');
  expect(got.raw.equals(bytes)).toBe(true);
  expect(stack.standIn.calls).toHaveLength(0);
});

test('a gzip bomb past limit gets 413', async () => {
  stack = await startStack({ headroom: { defaultOn: true, limit: '1mb' } });
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
  const res = await postRaw(stack.url, '/v1/chat/completions', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb);
  expect(res.status).toBe(413);
  expect(stack.upstream.requests).toHaveLength(0);
});

/** `json` with the two bytes of `marker` replaced by 0xFF 0xFE (never valid in UTF-8). */
function withInvalidUtf8(json: unknown, marker: string): Buffer {
  const good = Buffer.from(JSON.stringify(json));
  const i = good.indexOf(marker);
  return Buffer.concat([good.subarray(0, i), Buffer.from([0xff, 0xfe]), good.subarray(i + 2)]);
}

test('invalid UTF-8 in an enabled body, outside tool output: 200, forwarded byte for byte', async () => {
  // Deterministic: the body is decoded for JSON.parse (0xFF 0xFE become U+FFFD there, so it parses),
  // but its only row is the live user row, which is never compressed: nothing_compressible, no
  // service call, and an unchanged body is forwarded from the bytes as they arrived, not re-serialised.
  stack = await startStack({ headroom: { defaultOn: true } });
  const bad = withInvalidUtf8({ model: 'gpt-4o', messages: [{ role: 'user', content: 'AB' }] }, 'AB');
  const res = await postRaw(stack.url, '/v1/chat/completions', { 'content-type': 'application/json' }, bad);
  expect(res.status).toBe(200);
  expect(stack.upstream.requests).toHaveLength(1);
  expect(stack.upstream.requests[0].raw.equals(bad)).toBe(true);
  expect(stack.results).toHaveLength(1);
  expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'nothing_compressible' });
  expect(stack.standIn.calls).toHaveLength(0);
});

test('invalid UTF-8 inside a tool output that is compressed: the service and the upstream see U+FFFD', async () => {
  // The other deterministic path: the tool text is new and long, so it is sent and rewritten; the
  // body is then re-serialised from the parsed object, where the invalid bytes already were U+FFFD.
  stack = await startStack({ headroom: { defaultOn: true } });
  const toolText = 'AB' + 'x'.repeat(400);
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: toolText },
    ],
  };
  const bad = withInvalidUtf8(body, 'AB');
  const res = await postRaw(stack.url, '/v1/chat/completions', { 'content-type': 'application/json' }, bad);
  expect(res.status).toBe(200);
  const decodedText = '\uFFFD\uFFFD' + 'x'.repeat(400);
  expect(stack.standIn.calls).toHaveLength(1);
  expect(toolRows(stack.standIn.calls[0])[0].content).toBe(decodedText);
  const got = stack.upstream.requests[0];
  expect(got.raw.includes(Buffer.from([0xff, 0xfe]))).toBe(false);
  expect(got.json.messages[2].content).toBe(`[standin:${decodedText.length} chars] ${decodedText.slice(0, 60)}`);
  expect(got.json.messages.slice(0, 2)).toEqual(body.messages.slice(0, 2));
  expect(stack.results[0]).toMatchObject({ status: 'compressed', partsCompressed: 1 });
});
