/**
 * Issue 16 through the gateway: its express.json() runs the middleware's `verifyJson`, so a body
 * past the shape limits is refused before it is parsed (a 20 KB body nested 10,000 levels deep used
 * to end the process; a million tiny messages held the event loop for seconds), in the provider's
 * error shape, with nothing sent upstream, while /health keeps answering.
 */
import { rawRequest } from '../kit/raw-request';
import { startGatewayStack, type GatewayStack } from './helpers';

let stack: GatewayStack;
let key: string;
beforeAll(async () => {
  stack = await startGatewayStack();
  key = (await stack.generateKey({ key_alias: 'shape' })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
});

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

test.each([
  ['/v1/chat/completions', `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x":${deep(10_000)}}`, 400, /deeper than 64 levels/],
  ['/v1/messages', `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":${deep(10_000)}}]}`, 400, /deeper than 64 levels/],
  [
    '/v1/responses',
    `{"model":"gpt-5","input":[${Array.from({ length: 10_001 }, () => '{"type":"message","role":"user","content":"x"}').join(',')}]}`,
    413,
    /more than 10000 messages/,
  ],
])('%s past a shape limit: refused in the provider shape, nothing upstream', async (path, text, status, message) => {
  const res = await rawRequest(stack.url, { path, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: Buffer.from(text) });
  expect(res.status).toBe(status);
  if (path === '/v1/messages') expect(res.json).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.stringMatching(message) } });
  else expect(res.json.error).toMatchObject({ message: expect.stringMatching(message), code: 'request_too_complex' });
  expect(stack.upstream.requests).toHaveLength(0);
  const row = await stack.spendRow(res.headers['x-litellm-call-id'] as string);
  expect(row.error).toBe('request_too_complex');
});

// How long the event loop is held meanwhile is measured in bench/eventloop.ts, not asserted here.
test('a million tiny messages: 413 before any parse, nothing upstream; /health answers alongside', async () => {
  const body = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: Array.from({ length: 1_000_000 }, (_, i) => ({ role: 'tool', tool_call_id: `c${i}`, content: 'x' })) }));
  const big = rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body, deadlineMs: 60_000 });
  const health = await rawRequest(stack.url, { method: 'GET', path: '/health' });
  expect(health.status).toBe(200);
  const res = await big;
  expect(res.status).toBe(413);
  expect(res.json.error.message).toMatch(/more than 10000 messages/);
  expect(stack.upstream.requests).toHaveLength(0);
}, 90_000);
