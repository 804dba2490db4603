import request from 'supertest';
import { startStack, type Stack } from '../kit/app';
import { openaiAgent, clone } from '../kit/fixtures';

let stack: Stack;
afterEach(async () => stack?.close());

test('opted-in OpenAI agent request: tool output compressed, header set, opt-in removed', async () => {
  stack = await startStack();
  const body = { ...clone(openaiAgent().body), guardrails: ['headroom-compression'] };
  const res = await request(stack.url).post('/v1/chat/completions').send(body);
  expect(res.status).toBe(200);
  expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
  const got = stack.upstream.requests[0];
  expect(got.json.guardrails).toBeUndefined();
  expect(got.json.messages[5].content.startsWith('[standin:')).toBe(true);
  expect(got.json.messages[3].content).toBe(body.messages[3].content);
  expect(Number(got.headers['content-length'])).toBe(got.raw.length);
  expect(stack.results[0].status).toBe('compressed');
});
