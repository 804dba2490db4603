/**
 * Issue 16: no single request takes the process down, hangs, or slips past.
 * - Bodies nested thousands of levels deep, at the top level, inside a message and inside `tools`,
 *   on both APIs, through every chain (plain, express.json, express.json + fixRequestBody), in
 *   every mode (not enabled, bypassed, opted in by the body, defaultOn). Before the fix, the
 *   express.json chain threw a RangeError from the replay's socket listener and the process exited.
 * - `Expect: 100-continue` with Content-Length and chunked bodies, compressed or not, with and
 *   without fixRequestBody, on Express 4 and 5. Before the fix, the upstream got 0 bytes and hung.
 * - The bypass header on GET and non-JSON requests; shape limits (messages, values); gzip expansion.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { startStack, type Stack } from '../kit/app';
import { clone, openaiAgent } from '../kit/fixtures';
import { rawRequest } from '../kit/raw-request';

type Chain = 'plain' | 'json' | 'json+fix';
type Mode = 'off' | 'bypass' | 'body' | 'default';
type Api = 'chat' | 'messages';
type Place = 'top' | 'message' | 'tools' | 'whole';

const CHAINS: Chain[] = ['plain', 'json', 'json+fix'];
const stacks = new Map<string, Stack>();
const stackKey = (chain: Chain, defaultOn: boolean) => `${chain}/${defaultOn}`;

beforeAll(async () => {
  for (const chain of CHAINS) {
    for (const defaultOn of [false, true]) {
      stacks.set(
        stackKey(chain, defaultOn),
        await startStack({
          // Express 4 for the parser chains' defaultOn stacks, 5 elsewhere: both majors meet every mode.
          express: chain !== 'plain' && defaultOn ? 4 : 5,
          jsonParser: chain !== 'plain',
          fixRequestBody: chain === 'json+fix',
          headroom: { defaultOn },
        }),
      );
    }
  }
}, 60_000);
afterAll(async () => {
  for (const s of stacks.values()) await s.close();
});
beforeEach(() => {
  for (const s of stacks.values()) {
    s.upstream.requests.length = 0;
    s.results.length = 0;
  }
});

/** Nesting made of arrays, objects or a mix, `depth` levels, as JSON text. */
function nested(depth: number, kinds: string): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const k = kinds[i % kinds.length];
    open += k === 'a' ? '[' : '{"k":';
    close = (k === 'a' ? ']' : '}') + close;
  }
  return `${open}1${close}`;
}

function deepBody(api: Api, place: Place, deep: string, optIn: boolean): string {
  if (place === 'whole') return deep;
  const opt = optIn ? (api === 'chat' ? ',"guardrails":["headroom-compression"]' : ',"litellm_metadata":{"guardrails":["headroom-compression"]}') : '';
  const model = api === 'chat' ? 'gpt-4o' : 'claude-sonnet-4-5';
  const tool =
    api === 'chat'
      ? `{"role":"tool","tool_call_id":"c1","content":${place === 'message' ? deep : '"ok"'}}`
      : `{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":${place === 'message' ? deep : '"ok"'}}]}`;
  const tools = place === 'tools' ? `,"tools":[{"name":"t","input_schema":${deep}}]` : '';
  const top = place === 'top' ? `,"x":${deep}` : '';
  return `{"model":"${model}","max_tokens":5,"messages":[{"role":"user","content":"hi"},${tool}]${tools}${top}${opt}}`;
}

interface Case {
  api: Api;
  place: Place;
  chain: Chain;
  mode: Mode;
  depth: number;
  kinds: string;
}

async function send(c: Case) {
  const stack = stacks.get(stackKey(c.chain, c.mode === 'default'))!;
  const text = deepBody(c.api, c.place, nested(c.depth, c.kinds), c.mode === 'body');
  const bytes = Buffer.from(text);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (c.mode === 'bypass') headers['x-headroom-bypass'] = 'true';
  const res = await rawRequest(stack.url, { path: c.api === 'chat' ? '/v1/chat/completions' : '/v1/messages', headers, body: bytes, deadlineMs: 20_000 });
  return { stack, res, bytes, text };
}

function expectProviderError(api: Api, json: any) {
  if (api === 'messages') expect(json).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
  else expect(json).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } });
}

/** What must happen to one deep body; `stringifies`: whether V8 can serialise it (parser chains only). */
async function checkDeep(c: Case, stringifies?: boolean) {
  const { stack, res, bytes, text } = await send(c);
  expect(res.status).not.toBe(500);
  if (c.chain === 'plain') {
    if (c.mode === 'body' && c.place !== 'whole') {
      // It asks for compression itself, so its opt-in must be removed, which needs a parse it is past.
      expect(res.status).toBe(400);
      expectProviderError(c.api, res.json);
      expect(res.json.error.message).toMatch(/deeper than 64 levels/);
      expect(stack.upstream.requests).toHaveLength(0);
    } else {
      expect(res.status).toBe(200);
      expect(stack.upstream.requests[0].raw.equals(bytes)).toBe(true);
    }
    return;
  }
  // Parser chains: the bytes are gone; what goes on is the parsed value written back, or a 400.
  if (stringifies === false) {
    expect(res.status).toBe(400);
    expectProviderError(c.api, res.json);
    expect(stack.upstream.requests).toHaveLength(0);
    return;
  }
  if (stringifies === undefined && res.status === 400) {
    expectProviderError(c.api, res.json);
    expect(stack.upstream.requests).toHaveLength(0);
    return;
  }
  expect(res.status).toBe(200);
  const expected = JSON.parse(text);
  if (c.mode === 'body') {
    delete expected.guardrails;
    delete expected.litellm_metadata;
  }
  expect(stack.upstream.requests[0].raw.toString()).toBe(JSON.stringify(expected));
  expect(Number(stack.upstream.requests[0].headers['content-length'])).toBe(stack.upstream.requests[0].raw.length);
}

const APIS: Api[] = ['chat', 'messages'];
const PLACES: Place[] = ['top', 'message', 'tools', 'whole'];
const MODES: Mode[] = ['off', 'bypass', 'body', 'default'];
const matrix = (depth: number) =>
  APIS.flatMap((api) => PLACES.flatMap((place) => CHAINS.flatMap((chain) => MODES.map((mode) => ({ api, place, chain, mode, depth, kinds: 'ao' })))));

describe('deeply nested bodies never crash the process', () => {
  test.each(matrix(1_000))('1,000 levels: $api $place $chain $mode', async (c) => {
    await checkDeep(c, true);
  });

  test.each(matrix(50_000))('50,000 levels: $api $place $chain $mode', async (c) => {
    // Past what JSON.stringify can serialise: a 400 on the parser chains, untouched on the plain one.
    await checkDeep(c, false);
  });

  test('generated: depth, array/object mix, placement, API, chain and mode', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          api: fc.constantFrom<Api>(...APIS),
          place: fc.constantFrom<Place>(...PLACES),
          chain: fc.constantFrom<Chain>(...CHAINS),
          mode: fc.constantFrom<Mode>(...MODES),
          depth: fc.integer({ min: 65, max: 30_000 }),
          kinds: fc.stringMatching(/^[ao]{1,5}$/),
        }),
        async (c) => {
          for (const s of stacks.values()) s.upstream.requests.length = 0;
          await checkDeep(c);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  test('on the compressing path it is recorded as skipped past the depth limit, not failed', async () => {
    const c: Case = { api: 'chat', place: 'tools', chain: 'plain', mode: 'default', depth: 200, kinds: 'o' };
    await checkDeep(c);
    const stack = stacks.get(stackKey('plain', true))!;
    expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'over_depth_limit' });
  });

  test('within the limit (real depth, ~10) the body is compressed as before', async () => {
    const stack = stacks.get(stackKey('json', true))!;
    const body = clone(openaiAgent().body);
    const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
    expect(res.status).toBe(200);
    expect(stack.results[0].status).toBe('compressed');
  });
});

describe('Expect: 100-continue', () => {
  const big = () => {
    const body = clone(openaiAgent().body);
    // Over 1 MB, where curl starts sending Expect on its own.
    body.messages[5].content = `${body.messages[5].content}\n`.repeat(40);
    return body;
  };
  const cases = [4, 5].flatMap((express) =>
    CHAINS.flatMap((chain) => (['content-length', 'chunked'] as const).flatMap((framing) => [true, false].map((compressed) => ({ express, chain, framing, compressed })))),
  );
  const expectStacks = new Map<string, Stack>();
  beforeAll(async () => {
    for (const express of [4, 5] as const) {
      for (const chain of CHAINS) {
        expectStacks.set(`${express}/${chain}`, await startStack({ express, jsonParser: chain !== 'plain', fixRequestBody: chain === 'json+fix' }));
      }
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of expectStacks.values()) await s.close();
  });

  test.each(cases)('express $express, $chain, $framing, compressed=$compressed', async ({ express, chain, framing, compressed }) => {
    const stack = expectStacks.get(`${express}/${chain}`)!;
    stack.upstream.requests.length = 0;
    const body = big();
    if (compressed) body.guardrails = ['headroom-compression'];
    const bytes = Buffer.from(JSON.stringify(body));
    const res = await rawRequest(stack.url, {
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'x-headroom-bypass': compressed ? 'false' : 'true' },
      body: bytes,
      expectContinue: true,
      chunked: framing === 'chunked' ? 65_536 : undefined,
    });
    expect(res.continued).toBe(true);
    expect(res.status).toBe(200);
    const got = stack.upstream.requests[0];
    expect(Number(got.headers['content-length'])).toBe(got.raw.length);
    expect(got.headers.expect).toBeUndefined();
    expect(got.headers['x-headroom-bypass']).toBeUndefined();
    if (compressed) {
      expect(got.json.messages[5].content).toMatch(/^\[standin:/);
      expect(got.json.guardrails).toBeUndefined();
    } else {
      const sent = JSON.parse(bytes.toString());
      expect(got.json).toEqual(sent);
      if (chain === 'plain') expect(got.raw.equals(bytes)).toBe(true);
    }
  });

  test('a body the middleware never buffers (optInFromBody: false, not enabled) keeps its Expect and arrives whole', async () => {
    const stack = await startStack({ headroom: { optInFromBody: false } });
    try {
      const bytes = Buffer.from(JSON.stringify(big()));
      const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: bytes, expectContinue: true });
      expect(res.status).toBe(200);
      expect(stack.upstream.requests[0].raw.equals(bytes)).toBe(true);
    } finally {
      await stack.close();
    }
  });
});

describe('the bypass header never goes upstream', () => {
  test.each([
    ['GET', undefined],
    ['POST', 'text/plain'],
    ['POST', 'multipart/form-data; boundary=x'],
    ['PUT', 'application/json'],
  ])('%s %s', async (method, type) => {
    const stack = stacks.get(stackKey('plain', false))!;
    const headers: Record<string, string> = { 'x-headroom-bypass': 'true' };
    if (type) headers['content-type'] = type;
    const res = await rawRequest(stack.url, { method, path: '/v1/models', headers, body: method === 'GET' ? undefined : Buffer.from('{"a":1}') });
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].method).toBe(method);
    expect(stack.upstream.requests[0].headers['x-headroom-bypass']).toBeUndefined();
  });
});

describe('shape limits: what is past them is forwarded as sent, or refused when it asks for compression', () => {
  const manyMessages = (n: number, optIn: boolean) =>
    Buffer.from(
      JSON.stringify({
        model: 'gpt-4o',
        messages: Array.from({ length: n }, (_, i) => ({ role: 'tool', tool_call_id: `c${i}`, content: 'x' })),
        ...(optIn ? { guardrails: ['headroom-compression'] } : {}),
      }),
    );

  test('200,000 tiny messages with defaultOn: forwarded byte for byte, recorded over the messages limit', async () => {
    const stack = stacks.get(stackKey('plain', true))!;
    const bytes = manyMessages(200_000, false);
    const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: bytes, deadlineMs: 30_000 });
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].raw.equals(bytes)).toBe(true);
    expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'over_messages_limit' });
    expect(stack.standIn.calls).toHaveLength(0);
  });

  test('the same, opted in by its body: 413 in the provider shape naming the option', async () => {
    const stack = stacks.get(stackKey('plain', false))!;
    const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: manyMessages(10_001, true) });
    expect(res.status).toBe(413);
    expect(res.json.error.message).toMatch(/more than 10000 messages \(headroomCompression maxMessages\)/);
    expect(stack.upstream.requests).toHaveLength(0);
  });

  test('exactly maxMessages rows is within the limit', async () => {
    const stack = await startStack({ headroom: { defaultOn: true, maxMessages: 50 } });
    try {
      await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: manyMessages(50, false) });
      await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: manyMessages(51, false) });
      expect(stack.results[0].reason).not.toBe('over_messages_limit');
      expect(stack.results[1].reason).toBe('over_messages_limit');
    } finally {
      await stack.close();
    }
  });

  test('a body of many values in one message is bounded by maxJsonValues', async () => {
    const stack = stacks.get(stackKey('plain', true))!;
    const parts = Array.from({ length: 300_000 }, () => ({ type: 'text', text: 'x' }));
    const bytes = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'c', content: parts }] }));
    const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: bytes, deadlineMs: 30_000 });
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].raw.equals(bytes)).toBe(true);
    expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'over_values_limit' });
  });
});

describe('gzip expansion is bounded', () => {
  // 61 KB of gzip that would inflate to 60 MB: far past 100 times its size.
  const bomb = gzipSync(Buffer.concat([Buffer.from('{"model":"gpt-4o","messages":[],"x":"'), Buffer.alloc(60 * 1024 * 1024, 0x61), Buffer.from('"}')]));

  test('ten bombs at once with defaultOn: each gets 413 naming the ratio, nothing goes upstream', async () => {
    const stack = stacks.get(stackKey('plain', true))!;
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb }),
      ),
    );
    for (const r of replies) {
      expect(r.status).toBe(413);
      expect(r.json.error.message).toMatch(/100 times its \d+ encoded bytes/);
    }
    expect(stack.upstream.requests).toHaveLength(0);
  });

  test("not enabled: not this middleware's business, forwarded as sent", async () => {
    const stack = stacks.get(stackKey('plain', false))!;
    const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].raw.equals(bomb)).toBe(true);
    expect(stack.upstream.requests[0].headers['content-encoding']).toBe('gzip');
  });
});

describe('verifyJson: the same limits before an earlier body parser parses', () => {
  test.each([4, 5] as const)('express %s: past maxMessages, express.json never parses it; the error carries the status and type', async (express) => {
    const errors: any[] = [];
    const stack = await startStack({
      express,
      jsonParser: true,
      verifyJson: true,
      headroom: { maxMessages: 100 },
      between: [],
    });
    // An error handler as a gateway writes one: body-parser hands the verify error on.
    stack.app.use((err: any, _req: any, res: any, _next: any) => {
      errors.push(err);
      res.status(err.status ?? 500).json({ error: { message: err.message, type: err.type } });
    });
    try {
      const body = { model: 'gpt-4o', messages: Array.from({ length: 101 }, () => ({ role: 'user', content: 'x' })) };
      const res = await rawRequest(stack.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
      expect(res.status).toBe(413);
      expect(res.json.error.type).toBe('entity.too.complex');
      expect(errors[0]).toMatchObject({ code: 'REQUEST_TOO_COMPLEX', status: 413, type: 'entity.too.complex' });
      expect(stack.upstream.requests).toHaveLength(0);
      const ok = await rawRequest(stack.url, {
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ ...body, messages: body.messages.slice(1) })),
      });
      expect(ok.status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
