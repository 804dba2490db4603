/**
 * The service clients (lib/client.ts). The HTTP client talks to undici's MockAgent (no sockets,
 * no network): every typed error it can produce, the headers and body it sends, its timeout and
 * abort. The in-process client runs a compressor function under the same bounds.
 */
import { MockAgent } from 'undici';
import { createHttpClient, createInProcessClient, hashesOf } from '../../lib/client';
import type { CompressRequest, CompressResponse } from '../../lib/contract';
import { HeadroomServiceError, type ServiceErrorCode } from '../../lib/errors';

const ORIGIN = 'http://headroom.test';
const COMPRESS_URL = `${ORIGIN}/v1/compress`;
const MB = 1024 * 1024;

const request: CompressRequest = {
  model: 'claude-test',
  messages: [
    { role: 'tool', content: 'first tool output' },
    { role: 'tool', content: 'second tool output' },
  ],
  config: { protect_recent: 0, compress_user_messages: false },
};

const reply: CompressResponse & { extra_field: string } = {
  messages: [
    { role: 'tool', content: 'first' },
    { role: 'tool', content: 'second' },
  ],
  tokens_before: 10,
  tokens_after: 4,
  tokens_saved: 6,
  compression_ratio: 0.4,
  transforms_applied: ['smart_crusher'],
  ccr_hashes: ['0123456789abcdef'],
  extra_field: 'unknown fields pass',
};

/** The typed error `p` rejects with; fails the test if it resolves or rejects with anything else. */
async function rejection(p: Promise<unknown>): Promise<HeadroomServiceError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(HeadroomServiceError);
  return caught as HeadroomServiceError;
}

function expectError(err: HeadroomServiceError, code: ServiceErrorCode, status?: number) {
  expect({ code: err.code, status: err.status }).toEqual({ code, status });
}

describe('createHttpClient over MockAgent', () => {
  let agent: MockAgent;
  const pool = () => agent.get(ORIGIN);
  const intercept = () => pool().intercept({ path: '/v1/compress', method: 'POST' });
  const client = (apiKey?: string) => createHttpClient({ compressUrl: COMPRESS_URL, apiKey, dispatcher: agent });
  const call = (body: CompressRequest = request, timeoutMs = 5000, signal = new AbortController().signal) => client('sk-test').compress({ body, signal, timeoutMs });

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(async () => {
    await agent.close();
  });

  describe('requests', () => {
    test('200 with a valid reply: the parsed reply, unknown fields kept', async () => {
      intercept().reply(200, reply, { headers: { 'content-type': 'application/json' } });
      await expect(call()).resolves.toEqual(reply);
      agent.assertNoPendingInterceptors();
    });

    test('the figures older services omit are optional', async () => {
      intercept().reply(200, { messages: reply.messages });
      await expect(call()).resolves.toEqual({ messages: reply.messages });
    });

    test('the body sent is the JSON of the request, with JSON content headers', async () => {
      let seen: { body?: unknown; headers?: unknown } = {};
      intercept().reply((opts) => {
        seen = { body: opts.body, headers: opts.headers };
        return { statusCode: 200, data: reply };
      });
      await call();
      expect(seen.body).toBe(JSON.stringify(request));
      expect(seen.headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json' });
    });

    test('Authorization: Bearer <apiKey> is sent', async () => {
      pool()
        .intercept({ path: '/v1/compress', method: 'POST', headers: { authorization: 'Bearer sk-123' }, body: JSON.stringify(request) })
        .reply(200, reply);
      await expect(client('sk-123').compress({ body: request, signal: new AbortController().signal, timeoutMs: 5000 })).resolves.toEqual(reply);
      agent.assertNoPendingInterceptors();
    });

    test('a different key does not match that interceptor (the header matcher is really checked)', async () => {
      pool()
        .intercept({ path: '/v1/compress', method: 'POST', headers: { authorization: 'Bearer sk-123' } })
        .reply(200, reply);
      const err = await rejection(client('sk-other').compress({ body: request, signal: new AbortController().signal, timeoutMs: 5000 }));
      expectError(err, 'HEADROOM_UNREACHABLE');
      expect(err.message).toMatch(/Mock dispatch not matched/i);
    });

    test('no Authorization header at all without an apiKey', async () => {
      let headerNames: string[] = [];
      pool()
        .intercept({
          path: '/v1/compress',
          method: 'POST',
          headers: (h) => {
            headerNames = Object.keys(h);
            return !('authorization' in h);
          },
        })
        .reply(200, reply);
      await expect(client(undefined).compress({ body: request, signal: new AbortController().signal, timeoutMs: 5000 })).resolves.toEqual(reply);
      expect(headerNames).toEqual(expect.arrayContaining(['content-type', 'accept']));
      expect(headerNames).not.toContain('authorization');
    });

    test('an empty apiKey sends no Authorization header either', async () => {
      pool()
        .intercept({ path: '/v1/compress', method: 'POST', headers: (h) => !('authorization' in h) })
        .reply(200, reply);
      await expect(client('').compress({ body: request, signal: new AbortController().signal, timeoutMs: 5000 })).resolves.toEqual(reply);
    });

    test('close() closes the dispatcher it was given', async () => {
      const own = new MockAgent();
      own.disableNetConnect();
      own.get(ORIGIN).intercept({ path: '/v1/compress', method: 'POST' }).reply(200, reply);
      const c = createHttpClient({ compressUrl: COMPRESS_URL, dispatcher: own });
      await c.close();
      const err = await rejection(c.compress({ body: request, signal: new AbortController().signal, timeoutMs: 5000 }));
      expectError(err, 'HEADROOM_UNREACHABLE');
      expect(err.message).toMatch(/destroyed/i);
    });
  });

  describe('200 replies that are refused', () => {
    test('not JSON: HEADROOM_INVALID_JSON', async () => {
      intercept().reply(200, '<html>proxy login</html>');
      const err = await rejection(call());
      expectError(err, 'HEADROOM_INVALID_JSON', 200);
      expect(err.message).toBe('Headroom answered 200 with a body that is not JSON');
    });

    test('an empty 200: HEADROOM_INVALID_JSON', async () => {
      intercept().reply(200, '');
      expectError(await rejection(call()), 'HEADROOM_INVALID_JSON', 200);
    });

    test.each([
      ['messages is not an array', { ...reply, messages: 'nope' }, /: messages /],
      ['messages missing', { tokens_before: 1 }, /: messages /],
      ['a figure of the wrong type', { ...reply, tokens_after: 'four' }, /: tokens_after /],
      ['a JSON string, not an object', 'just a string', /: body /],
      ['JSON null', null, /: body /],
    ])('wrong shape (%s): HEADROOM_INVALID_SHAPE naming the field', async (_label, body, field) => {
      intercept().reply(200, JSON.stringify(body));
      const err = await rejection(call());
      expectError(err, 'HEADROOM_INVALID_SHAPE');
      expect(err.message).toMatch(/^Headroom reply does not match the \/v1\/compress contract/);
      expect(err.message).toMatch(field);
    });

    test.each([
      [1, 'Headroom reply has 1 messages for 2 sent'],
      [3, 'Headroom reply has 3 messages for 2 sent'],
    ])('%i rows for 2 sent: HEADROOM_ROW_COUNT', async (rows, message) => {
      intercept().reply(200, { ...reply, messages: Array.from({ length: rows }, () => ({ role: 'tool', content: 'x' })) });
      const err = await rejection(call());
      expectError(err, 'HEADROOM_ROW_COUNT');
      expect(err.message).toBe(message);
    });
  });

  describe('non-200 statuses', () => {
    test('401: HEADROOM_UNAUTHORIZED, naming the URL and the service detail', async () => {
      intercept().reply(401, { error: { type: 'authentication_error', message: 'invalid api key' } });
      const err = await rejection(call());
      expectError(err, 'HEADROOM_UNAUTHORIZED', 401);
      expect(err.message).toBe(`Headroom answered 401 at ${COMPRESS_URL} (authentication_error: invalid api key): check apiKey / HEADROOM_API_KEY`);
    });

    test('bare 404 (empty body): HEADROOM_NOT_FOUND pointing at HEADROOM_COMPRESS_ALLOW_REMOTE', async () => {
      intercept().reply(404, '');
      const err = await rejection(call());
      expectError(err, 'HEADROOM_NOT_FOUND', 404);
      expect(err.message).toContain(COMPRESS_URL);
      expect(err.message).toContain('HEADROOM_COMPRESS_ALLOW_REMOTE=1');
    });

    test('404 with a JSON body: HEADROOM_HTTP_STATUS asking whether apiBase is the root', async () => {
      intercept().reply(404, { error: 'no route /v1/v1/compress' });
      const err = await rejection(call());
      expectError(err, 'HEADROOM_HTTP_STATUS', 404);
      expect(err.message).toBe(`Headroom answered 404 at ${COMPRESS_URL} (no route /v1/v1/compress): is apiBase the service's root (the middleware appends /v1/compress)?`);
    });

    test('404 with a body that is not JSON: HEADROOM_HTTP_STATUS too, without detail', async () => {
      intercept().reply(404, 'Not Found');
      const err = await rejection(call());
      expectError(err, 'HEADROOM_HTTP_STATUS', 404);
      expect(err.message).toContain(`Headroom answered 404 at ${COMPRESS_URL}: is apiBase the service's root`);
    });

    test('503: HEADROOM_SERVICE_ERROR with the service detail', async () => {
      intercept().reply(503, { error: { type: 'compression_timeout', message: 'took too long' } });
      const err = await rejection(call());
      expectError(err, 'HEADROOM_SERVICE_ERROR', 503);
      expect(err.message).toBe(`Headroom answered 503 at ${COMPRESS_URL} (compression_timeout: took too long)`);
    });

    test('500: HEADROOM_HTTP_STATUS, detail cut at 200 characters', async () => {
      intercept().reply(500, { error: 'x'.repeat(500) });
      const err = await rejection(call());
      expectError(err, 'HEADROOM_HTTP_STATUS', 500);
      expect(err.message).toBe(`Headroom answered 500 at ${COMPRESS_URL} (${'x'.repeat(200)})`);
    });

    test('502 with an HTML body: HEADROOM_HTTP_STATUS without detail', async () => {
      intercept().reply(502, '<html>bad gateway</html>');
      const err = await rejection(call());
      expectError(err, 'HEADROOM_HTTP_STATUS', 502);
      expect(err.message).toBe(`Headroom answered 502 at ${COMPRESS_URL}`);
    });
  });

  describe('reply size bound: max(1 MB, 4 × request)', () => {
    test('a reply one byte over 1 MB for a small request: HEADROOM_REPLY_TOO_LARGE', async () => {
      intercept().reply(200, Buffer.alloc(MB + 1, 'a'));
      const err = await rejection(call());
      expectError(err, 'HEADROOM_REPLY_TOO_LARGE', 200);
      expect(err.message).toBe(`Headroom reply exceeds ${MB} bytes for a ${JSON.stringify(request).length}-byte request`);
    });

    test('exactly 1 MB is read (and then judged on its content)', async () => {
      intercept().reply(200, Buffer.alloc(MB, 'a'));
      expectError(await rejection(call()), 'HEADROOM_INVALID_JSON', 200);
    });

    test('the bound applies to error statuses too', async () => {
      intercept().reply(500, Buffer.alloc(MB + 1, 'a'));
      expectError(await rejection(call()), 'HEADROOM_REPLY_TOO_LARGE', 500);
    });

    test('a large request raises the bound to 4× its size', async () => {
      const big: CompressRequest = { model: 'm', messages: [{ role: 'tool', content: 'x'.repeat(400_000) }] };
      const limit = JSON.stringify(big).length * 4;
      expect(limit).toBeGreaterThan(1.5 * MB);
      intercept().reply(200, Buffer.alloc(1.5 * MB, 'a'));
      expectError(await rejection(call(big)), 'HEADROOM_INVALID_JSON', 200);
      intercept().reply(200, Buffer.alloc(limit + 1, 'a'));
      const err = await rejection(call(big));
      expectError(err, 'HEADROOM_REPLY_TOO_LARGE', 200);
      expect(err.message).toContain(`exceeds ${limit} bytes`);
    });
  });

  describe('transport, timeout and abort', () => {
    test('a connection error: HEADROOM_UNREACHABLE naming the errno code, with the cause kept', async () => {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8787'), { code: 'ECONNREFUSED' });
      intercept().replyWithError(refused);
      const err = await rejection(call());
      expectError(err, 'HEADROOM_UNREACHABLE');
      expect(err.message).toBe('Headroom unreachable (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:8787');
      expect(err.cause).toBe(refused);
    });

    test('no interceptor (net connect disabled): HEADROOM_UNREACHABLE', async () => {
      const err = await rejection(call());
      expectError(err, 'HEADROOM_UNREACHABLE');
      expect(err.message).toMatch(/^Headroom unreachable/);
    });

    test('a reply slower than timeoutMs: HEADROOM_TIMEOUT, and the delayed reply is cancelled, not waited for', async () => {
      intercept().reply(200, reply).delay(5000);
      const t0 = performance.now();
      const err = await rejection(call(request, 20));
      const elapsed = performance.now() - t0;
      expectError(err, 'HEADROOM_TIMEOUT');
      expect(err.message).toBe('Headroom did not answer within 20 ms');
      expect(elapsed).toBeLessThan(2000);
    });

    test('a reply within timeoutMs succeeds', async () => {
      intercept().reply(200, reply).delay(5);
      await expect(call(request, 5000)).resolves.toEqual(reply);
    });

    test("the caller's AbortSignal aborting mid-call: HEADROOM_ABORTED", async () => {
      intercept().reply(200, reply).delay(5000);
      const ctrl = new AbortController();
      const pending = call(request, 10_000, ctrl.signal);
      ctrl.abort();
      const t0 = performance.now();
      const err = await rejection(pending);
      expectError(err, 'HEADROOM_ABORTED');
      expect(err.message).toBe('client went away during compression');
      expect(performance.now() - t0).toBeLessThan(2000);
    });

    test('a signal already aborted: HEADROOM_ABORTED', async () => {
      intercept().reply(200, reply);
      const ctrl = new AbortController();
      ctrl.abort();
      const err = await rejection(call(request, 5000, ctrl.signal));
      expectError(err, 'HEADROOM_ABORTED');
      expect(err.message).toBe('client went away during compression');
    });
  });
});

describe('createInProcessClient', () => {
  const signal = () => new AbortController().signal;
  const ok: CompressResponse = { ...reply };

  afterEach(() => {
    jest.useRealTimers();
  });

  test('returns what the compressor returns, validated', async () => {
    const c = createInProcessClient(() => ok);
    await expect(c.compress({ body: request, signal: signal(), timeoutMs: 1000 })).resolves.toEqual(ok);
    await expect(c.close()).resolves.toBeUndefined();
  });

  test('the compressor gets a structured clone: mutating it does not touch the caller’s request', async () => {
    const body: CompressRequest = structuredClone(request);
    const snapshot = structuredClone(body);
    let received: CompressRequest | undefined;
    const c = createInProcessClient((req) => {
      received = req;
      req.messages[0].content = 'mutated';
      req.messages.push({ role: 'tool', content: 'added' });
      req.model = 'other';
      req.messages.pop();
      return ok;
    });
    await c.compress({ body, signal: signal(), timeoutMs: 1000 });
    expect(received).not.toBe(body);
    expect(received!.messages).not.toBe(body.messages);
    expect(body).toEqual(snapshot);
  });

  test.each([
    ['throws synchronously', true],
    ['rejects', false],
  ])('a compressor that %s: HEADROOM_COMPRESSOR_THREW with its message and status', async (_label, sync) => {
    const boom = Object.assign(new Error('model file missing'), { status: 503 });
    const c = createInProcessClient(
      sync
        ? () => {
            throw boom;
          }
        : async () => {
            throw boom;
          },
    );
    const err = await rejection(c.compress({ body: request, signal: signal(), timeoutMs: 1000 }));
    expectError(err, 'HEADROOM_COMPRESSOR_THREW', 503);
    expect(err.message).toBe('in-process compressor failed: model file missing');
  });

  test('a compressor that throws a non-Error value: HEADROOM_COMPRESSOR_THREW', async () => {
    const c = createInProcessClient(() => {
      throw 'plain string';
    });
    const err = await rejection(c.compress({ body: request, signal: signal(), timeoutMs: 1000 }));
    expectError(err, 'HEADROOM_COMPRESSOR_THREW');
    expect(err.message).toBe('in-process compressor failed: plain string');
  });

  // Regression (found by this file): the thrown value's `status` was read unguarded, so a compressor
  // rejecting with undefined or null made compress() throw a TypeError, not a typed error.
  test('a compressor that rejects with undefined: still HEADROOM_COMPRESSOR_THREW', async () => {
    const c = createInProcessClient(() => Promise.reject(undefined));
    const err = await rejection(c.compress({ body: request, signal: signal(), timeoutMs: 1000 }));
    expectError(err, 'HEADROOM_COMPRESSOR_THREW');
  });

  test('a HeadroomServiceError thrown by the compressor passes through as it is', async () => {
    const own = new HeadroomServiceError('HEADROOM_SERVICE_ERROR', 'overloaded', 503);
    const c = createInProcessClient(() => {
      throw own;
    });
    expect(await rejection(c.compress({ body: request, signal: signal(), timeoutMs: 1000 }))).toBe(own);
  });

  test('a reply of the wrong shape or row count is refused as from the service', async () => {
    const bad = createInProcessClient(() => ({ messages: 'nope' }) as unknown as CompressResponse);
    expectError(await rejection(bad.compress({ body: request, signal: signal(), timeoutMs: 1000 })), 'HEADROOM_INVALID_SHAPE');
    const short = createInProcessClient(() => ({ ...ok, messages: ok.messages.slice(0, 1) }));
    expectError(await rejection(short.compress({ body: request, signal: signal(), timeoutMs: 1000 })), 'HEADROOM_ROW_COUNT');
  });

  test('a compressor that never resolves: HEADROOM_TIMEOUT at timeoutMs, and its signal is aborted with that reason', async () => {
    jest.useFakeTimers();
    let seenSignal: AbortSignal | undefined;
    const c = createInProcessClient((_req, opts) => {
      seenSignal = opts?.signal;
      return new Promise<CompressResponse>(() => {});
    });
    let settled = false;
    const outcome = c.compress({ body: request, signal: signal(), timeoutMs: 1000 }).then(
      () => 'resolved',
      (err: unknown) => {
        settled = true;
        return err;
      },
    );
    await jest.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    expect(seenSignal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const err = (await outcome) as HeadroomServiceError;
    expect(err).toBeInstanceOf(HeadroomServiceError);
    expectError(err, 'HEADROOM_TIMEOUT');
    expect(err.message).toBe('Headroom did not answer within 1000 ms');
    expect(seenSignal?.aborted).toBe(true);
    expect(seenSignal?.reason).toBe(err);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a compressor that answers in time leaves no timer behind', async () => {
    jest.useFakeTimers();
    const c = createInProcessClient(async () => ok);
    await expect(c.compress({ body: request, signal: signal(), timeoutMs: 1000 })).resolves.toEqual(ok);
    expect(jest.getTimerCount()).toBe(0);
  });

  test("the caller's signal aborting: HEADROOM_ABORTED, and the compressor's signal is aborted", async () => {
    let seenSignal: AbortSignal | undefined;
    const c = createInProcessClient((_req, opts) => {
      seenSignal = opts?.signal;
      return new Promise<CompressResponse>(() => {});
    });
    const ctrl = new AbortController();
    const pending = c.compress({ body: request, signal: ctrl.signal, timeoutMs: 60_000 });
    ctrl.abort();
    const err = await rejection(pending);
    expectError(err, 'HEADROOM_ABORTED');
    expect(seenSignal?.aborted).toBe(true);
  });

  test('a signal already aborted: HEADROOM_ABORTED', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    const c = createInProcessClient(() => new Promise<CompressResponse>(() => {}));
    expectError(await rejection(c.compress({ body: request, signal: ctrl.signal, timeoutMs: 60_000 })), 'HEADROOM_ABORTED');
  });
});

describe('hashesOf: retrieval hashes from the reply and from the text taken', () => {
  const H24 = 'a'.repeat(12) + '0123456789ab';
  test('both marker forms are read from the text even when ccr_hashes is empty (seen on a real service)', () => {
    const texts = [`[90 items compressed to 12. Retrieve more: hash=${H24}]`, 'x <<ccr:0123456789abcdef,json,4096>> y'];
    expect(hashesOf([], texts)).toEqual([H24, '0123456789abcdef']);
  });
  test('reported hashes first, only 12–24 lowercase hex, no duplicates; longer hex runs are not markers', () => {
    expect(hashesOf(['stable_prefix_hash:abc', H24, 'ABCDEF012345'], [`hash=${H24}`, `hash=${H24}ff`, '<<ccr:0123>>'])).toEqual([H24]);
  });
});
