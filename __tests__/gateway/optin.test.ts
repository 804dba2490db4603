/**
 * When compression runs: the key's guardrails, per-request opt-in in both formats,
 * HEADROOM_DEFAULT_ON, and the x-headroom-bypass header, as in LiteLLM's guardrail.
 */
import { anthropicToolBody, openaiToolBody, post, startGatewayStack, toolOutputOf, type GatewayStack } from './helpers';

let stack: GatewayStack;
let plainKey: string; // no guardrails
let guardedKey: string; // guardrails: ["headroom-compression"]

beforeAll(async () => {
  stack = await startGatewayStack();
  plainKey = (await stack.generateKey({ key_alias: 'plain' })).key;
  guardedKey = (await stack.generateKey({ key_alias: 'guarded', guardrails: ['headroom-compression'] })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
});

const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
const last = () => stack.upstream.requests[stack.upstream.requests.length - 1];
const compressedUpstream = () => toolOutputOf(last().json).startsWith('[standin:');

test('a key without the guardrail: forwarded as sent, not_enabled recorded, no header', async () => {
  const body = openaiToolBody();
  const res = await post(`${stack.url}/v1/chat/completions`, body, bearer(plainKey));
  expect(res.status).toBe(200);
  expect(res.headers.get('x-litellm-applied-guardrails')).toBeNull();
  expect(last().json).toEqual(body);
  expect((await stack.spendRow(res.headers.get('x-litellm-call-id')!)).headroom_status).toBe('not_enabled');
});

test('per-request opt-in, chat completions: top-level "guardrails"', async () => {
  const res = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ guardrails: ['headroom-compression'] }), bearer(plainKey));
  expect(res.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  expect(compressedUpstream()).toBe(true);
  expect(last().json.guardrails).toBeUndefined();
});

test('per-request opt-in, /v1/messages: "litellm_metadata": {"guardrails": [...]}', async () => {
  const res = await post(`${stack.url}/v1/messages`, anthropicToolBody({ litellm_metadata: { guardrails: ['headroom-compression'] } }), { 'x-api-key': plainKey });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  expect(compressedUpstream()).toBe(true);
  expect(last().json.litellm_metadata).toBeUndefined();
});

test('a "guardrails" list naming other guardrails: no compression, and the field never reaches the provider', async () => {
  await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ guardrails: ['some-other-guardrail'] }), bearer(plainKey));
  expect(compressedUpstream()).toBe(false);
  expect(last().json.guardrails).toBeUndefined();
  await post(`${stack.url}/v1/messages`, anthropicToolBody({ litellm_metadata: { guardrails: ['x'] }, metadata: { user_id: 'u1', guardrails: ['x'] } }), { 'x-api-key': plainKey });
  expect(last().json.litellm_metadata).toBeUndefined();
  expect(last().json.metadata).toEqual({ user_id: 'u1' });
});

test('x-headroom-bypass: true (any case) skips compression even for a guarded key; the header is not forwarded', async () => {
  for (const value of ['true', 'TRUE', 'True']) {
    const res = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { ...bearer(guardedKey), 'x-headroom-bypass': value });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-litellm-applied-guardrails')).toBeNull();
    expect(compressedUpstream()).toBe(false);
    expect(last().headers['x-headroom-bypass']).toBeUndefined();
    expect((await stack.spendRow(res.headers.get('x-litellm-call-id')!)).headroom_status).toBe('bypassed');
  }
  // Not "true": no bypass (values are not trimmed), and no header can turn compression on.
  await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { ...bearer(guardedKey), 'x-headroom-bypass': 'yes' });
  expect(compressedUpstream()).toBe(true);
  await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { ...bearer(plainKey), 'x-headroom-bypass': 'false' });
  expect(compressedUpstream()).toBe(false);
});

test('bypass with a per-request opt-in: not compressed, opt-in fields still removed', async () => {
  const res = await post(`${stack.url}/v1/messages`, anthropicToolBody({ litellm_metadata: { guardrails: ['headroom-compression'] } }), {
    'x-api-key': plainKey,
    'x-headroom-bypass': 'true',
  });
  expect(res.headers.get('x-litellm-applied-guardrails')).toBeNull();
  expect(compressedUpstream()).toBe(false);
  expect(last().json.litellm_metadata).toBeUndefined();
});

test('HEADROOM_DEFAULT_ON=true: every key compressed without opt-in; bypass still wins', async () => {
  const on = await startGatewayStack({ config: { defaultOn: true } });
  try {
    const { key } = await on.generateKey({ key_alias: 'no-guardrails' });
    const res = await post(`${on.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': key });
    expect(res.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
    expect(toolOutputOf(on.upstream.requests[0].json).startsWith('[standin:')).toBe(true);
    const bypassed = await post(`${on.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': key, 'x-headroom-bypass': 'true' });
    expect(bypassed.headers.get('x-litellm-applied-guardrails')).toBeNull();
    expect(toolOutputOf(on.upstream.requests[1].json).startsWith('[standin:')).toBe(false);
  } finally {
    await on.close();
  }
});

test('HEADROOM_DEFAULT_ON=false (default): only keys with the guardrail or an opt-in', async () => {
  await post(`${stack.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': plainKey });
  expect(compressedUpstream()).toBe(false);
  await post(`${stack.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': guardedKey });
  expect(compressedUpstream()).toBe(true);
});
