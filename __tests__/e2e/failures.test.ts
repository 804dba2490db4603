/**
 * Point 8 (and issue 7's fault list): every way the service can fail. fail_open forwards the
 * original messages (opt-in fields still removed) and records the error; fail_closed answers 502 in
 * the provider's own error shape, naming the cause. Nothing hangs past timeoutMs.
 *
 * Each mode's outcome is fixed, never a race against the clock: only the modes that are meant to
 * time out (`hang` never answers; `trickle` sends a byte per 20 ms, so its few-KB reply takes
 * seconds) get the short {@link TIMEOUT}. Every other mode gets {@link UNREACHABLE_TIMEOUT}, longer
 * than the test itself may run, so a slow machine can delay its answer but never turn it into
 * HEADROOM_TIMEOUT. That includes `huge`: its 8 MB reply is past the client's reply cap
 * (max(1 MB, 4 × the request), lib/client.ts) for these requests (checked below), so it is refused
 * as HEADROOM_REPLY_TOO_LARGE while streaming, however slowly it arrives.
 */
import request from 'supertest';
import { startStack, type Stack } from '../kit/app';
import type { StandInMode } from '../kit/standin';
import { claudeTurns, clone, openaiAgent } from '../kit/fixtures';

let stack: Stack;
afterEach(async () => stack?.close());

const TIMEOUT = 400;
/** Longer than jest's testTimeout (30 s): a mode given this can only end by its own answer. */
const UNREACHABLE_TIMEOUT = 60_000;
const TIMED_OUT = new Set<StandInMode>(['hang', 'trickle']);
const timeoutFor = (mode: StandInMode) => (TIMED_OUT.has(mode) ? TIMEOUT : UNREACHABLE_TIMEOUT);
/** The stand-in's `huge` reply carries this much padding (`__tests__/kit/standin.ts`). */
const HUGE_PADDING = 8 * 1024 * 1024;
const modes: Array<[StandInMode, string]> = [
  ['hang', 'HEADROOM_TIMEOUT'],
  ['trickle', 'HEADROOM_TIMEOUT'],
  ['reset', 'HEADROOM_UNREACHABLE'],
  ['status500', 'HEADROOM_HTTP_STATUS'],
  ['status503', 'HEADROOM_SERVICE_ERROR'],
  ['status401', 'HEADROOM_UNAUTHORIZED'],
  ['status404', 'HEADROOM_NOT_FOUND'],
  ['invalid_json', 'HEADROOM_INVALID_JSON'],
  ['wrong_shape', 'HEADROOM_INVALID_SHAPE'],
  ['row_count', 'HEADROOM_ROW_COUNT'],
  ['huge', 'HEADROOM_REPLY_TOO_LARGE'],
];

describe.each(modes)('service %s', (mode, code) => {
  test('fail_open: upstream gets the original messages, opt-in removed, error recorded', async () => {
    stack = await startStack({ mode, headroom: { timeoutMs: timeoutFor(mode), breaker: false } });
    const body = { ...clone(openaiAgent().body), guardrails: ['headroom-compression'] };
    const res = await request(stack.url).post('/v1/chat/completions').send(body);
    expect(res.status).toBe(200);
    const got = stack.upstream.requests[0].json;
    expect(got.guardrails).toBeUndefined();
    expect(got.messages).toEqual(body.messages);
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    const r = stack.results[0];
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe(code);
    // No wall-clock bound here (one used to say durationMs < TIMEOUT + 1500): under load it could
    // fail with the code right. For hang and trickle the code HEADROOM_TIMEOUT is itself the proof
    // that the timer, not the service, ended the call; the other modes run with a timeout they cannot reach.
    if (mode === 'huge') expectHugeOverCap(stack);
  });

  test('fail_closed: provider-shaped 502 naming the cause; nothing upstream', async () => {
    stack = await startStack({ mode, headroom: { timeoutMs: timeoutFor(mode), unreachableFallback: 'fail_closed', breaker: false } });
    const fx = claudeTurns()[1];
    const body = { ...clone(fx.body), litellm_metadata: { guardrails: ['headroom-compression'] } };
    const res = await request(stack.url).post(fx.path).send(body);
    expect(res.status).toBe(502);
    expect(res.body.type).toBe('error');
    expect(res.body.error.type).toBe('api_error');
    expect(res.body.error.message).toMatch(/headroom/i);
    if (mode === 'status404') expect(res.body.error.message).toContain('HEADROOM_COMPRESS_ALLOW_REMOTE');
    expect(stack.upstream.requests).toHaveLength(0);
    expect(stack.results[0].error?.code).toBe(code);
    if (mode === 'huge') expectHugeOverCap(stack);
  });
});

/** The `huge` case is deterministic only while the reply is past the cap for the request sent: check that, not assume it. */
function expectHugeOverCap(s: Stack): void {
  expect(s.standIn.calls).toHaveLength(1);
  const requestBytes = Buffer.byteLength(JSON.stringify(s.standIn.calls[0].body));
  const cap = Math.max(1024 * 1024, requestBytes * 4);
  expect(HUGE_PADDING).toBeGreaterThan(cap);
}

test('fail_closed on an OpenAI path answers in OpenAI error shape', async () => {
  stack = await startStack({ mode: 'status500', headroom: { unreachableFallback: 'fail_closed', defaultOn: true } });
  const res = await request(stack.url).post('/v1/chat/completions').send(openaiAgent().body);
  expect(res.status).toBe(502);
  expect(res.body.error).toMatchObject({ type: 'api_error', code: 'headroom_compression_failed', param: null });
  expect(res.body.error.message).toContain('500');
});

test('connection refused: fail_open forwards, fail_closed 502s', async () => {
  stack = await startStack({ headroom: { apiBase: 'http://127.0.0.1:9', defaultOn: true, breaker: false } });
  const res = await request(stack.url).post('/v1/chat/completions').send(openaiAgent().body);
  expect(res.status).toBe(200);
  expect(stack.results[0].error?.code).toBe('HEADROOM_UNREACHABLE');
  expect(stack.upstream.requests[0].json.messages).toEqual(openaiAgent().body.messages);
});

test('a mangling service: every mangled row keeps its original text; the rest of the body is untouched', async () => {
  stack = await startStack({ mode: 'mangle', headroom: { defaultOn: true } });
  const fx = claudeTurns()[3];
  // Make three new tool results so each mangling (role change, object content, growth) is met.
  const body = clone(fx.body);
  const last = body.messages[body.messages.length - 1];
  const big = (n: number) => ({ type: 'tool_result', tool_use_id: `toolu_x${n}`, content: `row ${n} `.repeat(300) });
  last.content = [...last.content, big(1), big(2)];
  const res = await request(stack.url).post(fx.path).send(body);
  expect(res.status).toBe(200);
  expect(stack.upstream.requests[0].json).toEqual(body);
  expect(stack.results[0].partsRejected).toBe(3);
  expect(stack.results[0].status).toBe('skipped');
});

test('apiKey goes to the service as Bearer, never upstream; the client key goes upstream only', async () => {
  stack = await startStack({ token: 'hr-secret', headroom: { apiKey: 'hr-secret', defaultOn: true } });
  const res = await request(stack.url).post('/v1/chat/completions').set('authorization', 'Bearer client-key').send(openaiAgent().body);
  expect(res.status).toBe(200);
  expect(stack.standIn.calls[0].headers.authorization).toBe('Bearer hr-secret');
  const up = stack.upstream.requests[0];
  expect(up.headers.authorization).toBe('Bearer client-key');
  expect(JSON.stringify(up.headers)).not.toContain('hr-secret');
  expect(up.raw.includes('hr-secret')).toBe(false);
  expect(JSON.stringify(stack.standIn.calls[0])).not.toContain('client-key');
  expect(stack.results[0].status).toBe('compressed');
});

test('a 404 from a wrong base path names the URL called and the likely cause', async () => {
  // A base path the service does not serve: its own JSON 404, not the bare loopback refusal.
  stack = await startStack();
  const wrongBase = `${stack.standIn.url}/headroom`;
  const again = await startStack({ headroom: { apiBase: wrongBase, unreachableFallback: 'fail_closed', breaker: false } });
  try {
    const fx = claudeTurns()[1];
    const body = { ...clone(fx.body), litellm_metadata: { guardrails: ['headroom-compression'] } };
    const res = await request(again.url).post(fx.path).send(body);
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain(`Headroom answered 404 at ${wrongBase}/v1/compress`);
    expect(res.body.error.message).toContain("is apiBase the service's root");
    expect(again.results[0].error?.code).toBe('HEADROOM_HTTP_STATUS');
  } finally {
    await again.close();
  }
});
