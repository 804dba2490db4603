/**
 * The official SDKs, unchanged, against the gateway: baseURL = gateway, apiKey = virtual key.
 * Each test checks what the upstream received and what the client got back.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ANTHROPIC_KEY, OPENAI_KEY, anthropicToolBody, openaiToolBody, startGatewayStack, toolOutputOf, type GatewayStack } from './helpers';

let stack: GatewayStack;
let key: string;

beforeAll(async () => {
  stack = await startGatewayStack();
  key = (await stack.generateKey({ key_alias: 'sdk-team', guardrails: ['headroom-compression'] })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
});

function expectCleanUpstream(provider: 'anthropic' | 'openai') {
  expect(stack.upstream.requests).toHaveLength(1);
  const got = stack.upstream.requests[0];
  // The provider key, as the provider expects it; the client's key nowhere.
  if (provider === 'anthropic') {
    expect(got.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(got.headers.authorization).toBeUndefined();
  } else {
    expect(got.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(got.headers['x-api-key']).toBeUndefined();
  }
  expect(JSON.stringify(got.headers)).not.toContain(key);
  expect(got.raw.toString()).not.toContain(key);
  // Compressed tool output (the Headroom stand-in's visible marker), no LiteLLM control fields.
  expect(toolOutputOf(got.json).startsWith('[standin:')).toBe(true);
  expect(got.json.guardrails).toBeUndefined();
  expect(got.json.litellm_metadata).toBeUndefined();
  expect(Number(got.headers['content-length'])).toBe(got.raw.length);
  return got;
}

test('openai SDK, non-streaming: compressed upstream, answer and guardrail header back', async () => {
  const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: key, maxRetries: 0 });
  const { data, response } = await client.chat.completions.create(openaiToolBody() as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  expect(data.choices[0].message.content).toBe('stand-in upstream saw 4 messages');
  expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  const got = expectCleanUpstream('openai');
  expect(got.path).toBe('/v1/chat/completions');
  const row = await stack.spendRow(response.headers.get('x-litellm-call-id')!);
  expect(row).toMatchObject({ key_alias: 'sdk-team', provider: 'openai', model: 'gpt-4o', status: 200, stream: false, headroom_status: 'compressed' });
  expect(row.tokens_saved).toBeGreaterThan(0);
});

test('openai SDK, streaming: chunks arrive, upstream got compressed output', async () => {
  const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: key, maxRetries: 0 });
  const { data: stream, response } = await client.chat.completions
    .create({ ...(openaiToolBody() as OpenAI.ChatCompletionCreateParamsNonStreaming), stream: true, stream_options: { include_usage: true } })
    .withResponse();
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  expect(text).toBe('stand-in upstream saw 4 messages');
  expect(chunks).toBeGreaterThan(3);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  expectCleanUpstream('openai');
  const row = await stack.spendRow(response.headers.get('x-litellm-call-id')!);
  expect(row).toMatchObject({ stream: true, status: 200, headroom_status: 'compressed' });
});

test('anthropic SDK (x-api-key), non-streaming: thinking signature and cache_control kept', async () => {
  const client = new Anthropic({ baseURL: stack.url, apiKey: key, maxRetries: 0 });
  const body = anthropicToolBody();
  const { data, response } = await client.messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming).withResponse();
  expect(data.content[0]).toEqual({ type: 'text', text: 'stand-in upstream saw 3 messages' });
  expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
  const got = expectCleanUpstream('anthropic');
  expect(got.json.messages[1]).toEqual(body.messages[1]);
  expect(got.json.system).toEqual(body.system);
  expect(got.json.messages[2].content[0].cache_control).toEqual({ type: 'ephemeral' });
  expect(got.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/); // the client's, passed through
});

test('anthropic SDK (Bearer auth token, as Claude Code), streaming', async () => {
  const client = new Anthropic({ baseURL: stack.url, authToken: key, apiKey: null, maxRetries: 0 });
  const stream = client.messages.stream(anthropicToolBody() as unknown as Anthropic.MessageStreamParams);
  const message = await stream.finalMessage();
  expect(message.content).toEqual([{ type: 'text', text: 'stand-in upstream saw 3 messages' }]);
  expectCleanUpstream('anthropic');
  expect(stack.upstream.requests[0].json.stream).toBe(true);
});

test('anthropic SDK, streaming, embedded compressor: output shorter, tokens saved recorded', async () => {
  const embedded = await startGatewayStack({ compression: 'embedded' });
  try {
    const k = (await embedded.generateKey({ guardrails: ['headroom-compression'] })).key;
    const client = new Anthropic({ baseURL: embedded.url, apiKey: k, maxRetries: 0 });
    const body = anthropicToolBody();
    const { data: stream, response } = await client.messages.create({ ...(body as unknown as Anthropic.MessageCreateParamsNonStreaming), stream: true }).withResponse();
    let text = '';
    for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    expect(text).toBe('stand-in upstream saw 3 messages');
    const got = embedded.upstream.requests[0];
    const sent = toolOutputOf(body);
    expect(toolOutputOf(got.json).length).toBeLessThan(sent.length / 2);
    expect(got.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    const row = await embedded.spendRow(response.headers.get('x-litellm-call-id')!);
    expect(row.headroom_status).toBe('compressed');
    expect(row.tokens_saved).toBeGreaterThan(0);
    expect(row.transforms.length).toBeGreaterThan(0);
    expect(embedded.gateway.compression).toBe('embedded');
  } finally {
    await embedded.close();
  }
});
