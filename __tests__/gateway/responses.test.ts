/**
 * Issue 13 through the example gateway: `/v1/responses` is routed to the OpenAI upstream with the
 * provider key, authenticated with a virtual key, compressed for a key with the guardrail, and logged
 * (spend log row, Prometheus counters) like the other two APIs; the official SDK, streaming and not.
 */
import OpenAI from 'openai';
import { loadFixture, clone } from '../kit/fixtures';
import { OPENAI_KEY, startGatewayStack, type GatewayStack } from './helpers';

let stack: GatewayStack;
let compressKey: string;
let plainKey: string;
beforeAll(async () => {
  stack = await startGatewayStack();
  compressKey = (await stack.generateKey({ key_alias: 'codex-team', guardrails: ['headroom-compression'] })).key;
  plainKey = (await stack.generateKey({ key_alias: 'codex-plain' })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
});

/** The Codex fixture's input; `salt` makes its tool output new to the memo (so the service is called). */
const codexInput = (salt = '') => {
  const input = clone(loadFixture('codex-session/turn-2.json').body.input);
  input[6].output += salt;
  return input;
};
const outputOf = (json: any) => json.input.find((i: any) => i.type === 'function_call_output').output as string;

test.each([false, true])('client.responses.create (stream: %s) with a guardrail key: compressed, logged, provider key upstream', async (stream) => {
  const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: compressKey, maxRetries: 0 });
  let text = '';
  let callId: string | null;
  if (stream) {
    const { data, response } = await client.responses.create({ model: 'gpt-5', input: codexInput('\nstreamed'), stream: true }).withResponse();
    for await (const ev of data) if (ev.type === 'response.output_text.delta') text += ev.delta;
    callId = response.headers.get('x-litellm-call-id');
    expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  } else {
    const { data, response } = await client.responses.create({ model: 'gpt-5', input: codexInput() }).withResponse();
    text = data.output_text;
    callId = response.headers.get('x-litellm-call-id');
    expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  }
  expect(text).toBe('stand-in upstream saw 7 items');
  const got = stack.upstream.requests[0];
  expect(got.path).toBe('/v1/responses');
  expect(got.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
  expect(got.raw.toString()).not.toContain(compressKey);
  expect(outputOf(got.json)).toMatch(/^\[standin:/);
  // The reasoning item, encrypted_content and all, as sent.
  expect(JSON.stringify(got.json.input[4])).toBe(JSON.stringify(codexInput()[4]));
  const row = await stack.spendRow(callId!);
  expect(row).toMatchObject({ path: '/v1/responses', provider: 'openai', key_alias: 'codex-team', model: 'gpt-5', stream, status: 200, headroom_status: 'compressed' });
  expect(row.tokens_saved).toBeGreaterThan(0);
});

test('a key without the guardrail: forwarded unchanged, logged as not enabled', async () => {
  const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: plainKey, maxRetries: 0 });
  const { response } = await client.responses.create({ model: 'gpt-5', input: codexInput() }).withResponse();
  expect(response.headers.get('x-litellm-applied-guardrails')).toBeNull();
  expect(stack.upstream.requests[0].json.input).toEqual(codexInput());
  const row = await stack.spendRow(response.headers.get('x-litellm-call-id')!);
  expect(row.headroom_status).toBe('not_enabled');
});

test('metrics count /v1/responses requests by path and headroom status', async () => {
  const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: compressKey, maxRetries: 0 });
  await client.responses.create({ model: 'gpt-5', input: codexInput() });
  const metrics = await (await fetch(`${stack.url}/metrics`)).text();
  expect(metrics).toMatch(/headroom_requests_total\{[^}]*status="compressed"[^}]*\} [1-9]/);
});
