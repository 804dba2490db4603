/**
 * Point 6: the request reaches the upstream through http-proxy-middleware 3 intact, with a correct
 * byte Content-Length and no stale Transfer-Encoding, in every combination of
 * {express 5, 4} × {express.json() before or not} × {fixRequestBody or not} × {compressed or not},
 * on the shared fixtures. Never written twice, never hanging.
 */
import http from 'node:http';
import request from 'supertest';
import { startStack, type Stack } from '../kit/app';
import { claudeTurns, clone, openaiAgent } from '../kit/fixtures';

const combos: Array<[5 | 4, boolean, boolean, boolean]> = [];
for (const ex of [5, 4] as const)
  for (const jsonParser of [false, true]) for (const fix of [false, true]) for (const compressed of [false, true]) combos.push([ex, jsonParser, fix, compressed]);

describe.each(combos)('express %i, express.json=%s, fixRequestBody=%s, compressed=%s', (ex, jsonParser, fix, compressed) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ express: ex, jsonParser, fixRequestBody: fix });
  });
  afterAll(async () => stack.close());

  const fixtures = [
    ['Claude Code turn 2', () => claudeTurns()[1]],
    ['OpenAI agent (non-ASCII)', () => openaiAgent()],
  ] as const;

  test.each(fixtures)('%s', async (_name, load) => {
    const fx = load();
    const body = clone(fx.body);
    if (compressed) {
      if (fx.path.startsWith('/v1/messages')) body.litellm_metadata = { guardrails: ['headroom-compression'] };
      else body.guardrails = ['headroom-compression'];
    }
    const sent = Buffer.from(JSON.stringify(body));
    stack.upstream.requests.length = 0;
    const res = await request(stack.url).post(fx.path).set('content-type', 'application/json').send(sent.toString('utf8'));
    expect(res.status).toBe(200);
    expect(stack.upstream.requests).toHaveLength(1);
    const got = stack.upstream.requests[0];
    expect(Number(got.headers['content-length'])).toBe(got.raw.length);
    expect(got.headers['transfer-encoding']).toBeUndefined();
    const json = JSON.parse(got.raw.toString('utf8'));
    expect(json.model).toBe(body.model);
    expect(json.messages).toHaveLength(body.messages.length);
    if (compressed) {
      expect(json.guardrails).toBeUndefined();
      expect(json.litellm_metadata).toBeUndefined();
      expect(got.raw.length).toBeLessThan(sent.length);
      expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    } else {
      expect(res.headers['x-litellm-applied-guardrails']).toBeUndefined();
      if (!jsonParser)
        expect(got.raw.equals(sent)).toBe(true); // read by the middleware, unchanged: byte for byte
      else expect(json).toEqual(body);
    }
  });
});

describe('uploads', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
  });
  afterAll(async () => stack.close());

  function rawPost(path: string, chunks: Buffer[], headers: Record<string, string>, gapMs = 0): Promise<{ status: number; body: string }> {
    const u = new URL(stack.url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path, method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      let i = 0;
      const step = () => {
        if (i >= chunks.length) return req.end();
        req.write(chunks[i++]);
        setTimeout(step, gapMs);
      };
      step();
    });
  }

  test('a chunked, slow upload is buffered, compressed and forwarded with a Content-Length', async () => {
    stack.upstream.requests.length = 0;
    const fx = openaiAgent();
    const bytes = Buffer.from(JSON.stringify(fx.body));
    const parts: Buffer[] = [];
    for (let off = 0; off < bytes.length; off += 7000) parts.push(bytes.subarray(off, off + 7000));
    const res = await rawPost(fx.path, parts, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, 5);
    expect(res.status).toBe(200);
    const got = stack.upstream.requests[0];
    expect(got.headers['transfer-encoding']).toBeUndefined();
    expect(Number(got.headers['content-length'])).toBe(got.raw.length);
    expect(got.json.messages[5].content).toMatch(/^\[standin:/);
  });

  test('a chunked upload that is not changed is forwarded byte for byte', async () => {
    stack.upstream.requests.length = 0;
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'héllo — ünïcode ✓' }] }));
    const res = await rawPost('/v1/chat/completions', [body.subarray(0, 10), body.subarray(10)], {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    expect(res.status).toBe(200);
    const got = stack.upstream.requests[0];
    expect(got.raw.equals(body)).toBe(true);
    expect(Number(got.headers['content-length'])).toBe(body.length);
  });
});
