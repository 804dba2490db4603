/** Points 1, 2, 5 and 7: eligibility, the decision order, opt-in removal, and the response header. */
import request from 'supertest';
import { startStack, type Stack } from '../kit/app';
import { claudeTurns, clone, openaiAgent } from '../kit/fixtures';

let stack: Stack;
afterEach(async () => stack?.close());

const chat = () => clone(openaiAgent().body);
const optedIn = () => ({ ...chat(), guardrails: ['headroom-compression'] });
const TOOL = 5; // the new tool row of the OpenAI fixture

describe('eligibility: everything else passes through untouched', () => {
  beforeEach(async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
  });

  test('GET', async () => {
    const res = await request(stack.url).get('/v1/models?x=1');
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].method).toBe('GET');
    expect(stack.standIn.calls).toHaveLength(0);
    expect(res.headers['x-litellm-applied-guardrails']).toBeUndefined();
  });

  test('multipart and text bodies', async () => {
    const res = await request(stack.url).post('/v1/audio/transcriptions').field('model', 'whisper-1').attach('file', Buffer.from('RIFF....'), 'a.wav');
    expect(res.status).toBe(200);
    const got = stack.upstream.requests[0];
    expect(got.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(got.raw.includes(Buffer.from('RIFF....'))).toBe(true);
    await request(stack.url).post('/v1/chat/completions').set('content-type', 'text/plain').send('{"messages":[]}');
    expect(stack.upstream.requests[1].raw.toString()).toBe('{"messages":[]}');
    expect(stack.standIn.calls).toHaveLength(0);
  });

  test('JSON without a messages array (embeddings) is forwarded byte for byte', async () => {
    const text = '{ "model": "text-embedding-3-small",  "input": "héllo" }';
    const res = await request(stack.url).post('/v1/embeddings').set('content-type', 'application/json').send(text);
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].raw.toString('utf8')).toBe(text);
    expect(stack.standIn.calls).toHaveLength(0);
    expect(stack.results).toHaveLength(0);
  });

  test('+json content types are eligible', async () => {
    const res = await request(stack.url).post('/v1/chat/completions').set('content-type', 'application/vnd.api+json').send(JSON.stringify(chat()));
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].json.messages[TOOL].content).toMatch(/^\[standin:/);
  });
});

describe('decision order', () => {
  test('not enabled: no service call, no header, byte for byte, record not_enabled', async () => {
    stack = await startStack();
    const text = JSON.stringify(chat());
    const res = await request(stack.url).post('/v1/chat/completions').set('content-type', 'application/json').send(text);
    expect(res.headers['x-litellm-applied-guardrails']).toBeUndefined();
    expect(stack.upstream.requests[0].raw.toString('utf8')).toBe(text);
    expect(stack.standIn.calls).toHaveLength(0);
    expect(stack.results.map((r) => r.status)).toEqual(['not_enabled']);
  });

  test.each([
    ['top-level guardrails (chat completions)', '/v1/chat/completions', (b: any) => ({ ...b, guardrails: ['headroom-compression'] })],
    ['litellm_metadata.guardrails (messages)', '/v1/messages', (b: any) => ({ ...b, litellm_metadata: { guardrails: ['headroom-compression'], tags: ['x'] } })],
    ['metadata.guardrails', '/v1/chat/completions', (b: any) => ({ ...b, metadata: { guardrails: ['headroom-compression'], user: 'u1' } })],
  ])('opt-in via %s is honoured and removed; other fields stay', async (_n, path, optIn) => {
    stack = await startStack();
    const body = optIn(chat());
    const res = await request(stack.url).post(path).send(body);
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    const got = stack.upstream.requests[0].json;
    expect(got.guardrails).toBeUndefined();
    expect(got.litellm_metadata).toBeUndefined();
    if (body.metadata) expect(got.metadata).toEqual({ user: 'u1' });
    expect(got.tools).toEqual(body.tools);
    expect(got.temperature).toBe(body.temperature);
    expect(got.stream_options).toEqual(body.stream_options);
    expect(got.messages[TOOL].content).toMatch(/^\[standin:/);
  });

  test('Claude Code metadata.user_id survives an opt-in through metadata.guardrails', async () => {
    stack = await startStack();
    const fx = claudeTurns()[1];
    const body = clone(fx.body);
    body.metadata.guardrails = ['headroom-compression'];
    await request(stack.url).post(fx.path).send(body);
    expect(stack.upstream.requests[0].json.metadata).toEqual({ user_id: fx.body.metadata.user_id });
  });

  test('another guardrail name does not opt in', async () => {
    stack = await startStack();
    await request(stack.url)
      .post('/v1/chat/completions')
      .send({ ...chat(), guardrails: ['pii-masking'] });
    expect(stack.standIn.calls).toHaveLength(0);
    expect(stack.upstream.requests[0].json.guardrails).toEqual(['pii-masking']);
  });

  test('the name inside message text is not an opt-in', async () => {
    stack = await startStack();
    const body = chat();
    body.messages[1].content = 'please enable "headroom-compression" for me';
    await request(stack.url).post('/v1/chat/completions').send(body);
    expect(stack.standIn.calls).toHaveLength(0);
    expect(stack.results[0].status).toBe('not_enabled');
  });

  test('guardrailName changes what opts in and what the header says', async () => {
    stack = await startStack({ headroom: { guardrailName: 'hr' } });
    const res = await request(stack.url)
      .post('/v1/chat/completions')
      .send({ ...chat(), guardrails: ['hr'] });
    expect(res.headers['x-litellm-applied-guardrails']).toBe('hr');
    expect(stack.standIn.calls).toHaveLength(1);
  });

  test('enabledFor: sync, async, throwing', async () => {
    const seen: string[] = [];
    stack = await startStack({
      headroom: {
        enabledFor: async (req) => {
          const k = String(req.headers['x-team']);
          seen.push(k);
          if (k === 'boom') throw new Error('lookup failed');
          return k === 'on';
        },
      },
    });
    await request(stack.url).post('/v1/chat/completions').set('x-team', 'on').send(chat());
    await request(stack.url).post('/v1/chat/completions').set('x-team', 'off').send(chat());
    await request(stack.url).post('/v1/chat/completions').set('x-team', 'boom').send(chat());
    expect(seen).toEqual(['on', 'off', 'boom']);
    expect(stack.results.map((r) => r.status)).toEqual(['compressed', 'not_enabled', 'not_enabled']);
    expect(stack.upstream.requests).toHaveLength(3);
  });

  test('optInFromBody: false decides from headers: body opt-in is ignored, enabledFor still works', async () => {
    stack = await startStack({ headroom: { optInFromBody: false, enabledFor: (req) => req.headers['x-team'] === 'on' } });
    await request(stack.url).post('/v1/chat/completions').send(optedIn());
    expect(stack.standIn.calls).toHaveLength(0);
    await request(stack.url).post('/v1/chat/completions').set('x-team', 'on').send(chat());
    expect(stack.standIn.calls).toHaveLength(1);
    expect(stack.results.map((r) => r.status)).toEqual(['not_enabled', 'compressed']);
  });
});

describe('bypass', () => {
  test.each(['true', 'TRUE', 'True', 'tRuE'])('x-headroom-bypass: %s skips even under defaultOn, and is not forwarded', async (v) => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const res = await request(stack.url).post('/v1/chat/completions').set('x-headroom-bypass', v).send(chat());
    expect(res.status).toBe(200);
    expect(stack.standIn.calls).toHaveLength(0);
    expect(res.headers['x-litellm-applied-guardrails']).toBeUndefined();
    expect(stack.upstream.requests[0].headers['x-headroom-bypass']).toBeUndefined();
    expect(stack.results[0].status).toBe('bypassed');
  });

  // HTTP itself strips surrounding spaces from header values; "not trimmed" is checked in the unit suite.
  test.each(['tru e', 'yes', '1', 'false'])('"%s" is not a bypass', async (v) => {
    stack = await startStack({ headroom: { defaultOn: true } });
    await request(stack.url).post('/v1/chat/completions').set('x-headroom-bypass', v).send(chat());
    expect(stack.standIn.calls).toHaveLength(1);
    expect(stack.upstream.requests[0].headers['x-headroom-bypass']).toBeUndefined();
  });

  test('bypass with a body opt-in: opt-in fields still removed', async () => {
    stack = await startStack();
    await request(stack.url).post('/v1/chat/completions').set('x-headroom-bypass', 'true').send(optedIn());
    expect(stack.standIn.calls).toHaveLength(0);
    expect(stack.upstream.requests[0].json.guardrails).toBeUndefined();
    expect(stack.upstream.requests[0].json.messages).toEqual(chat().messages);
  });

  test('allowBypass: false ignores the header, and still never forwards it', async () => {
    stack = await startStack({ headroom: { defaultOn: true, allowBypass: false } });
    const res = await request(stack.url).post('/v1/chat/completions').set('x-headroom-bypass', 'true').send(chat());
    expect(stack.standIn.calls).toHaveLength(1);
    expect(stack.results[0].status).toBe('compressed');
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    expect(stack.upstream.requests[0].headers['x-headroom-bypass']).toBeUndefined();
  });

  test('no header turns compression on', async () => {
    stack = await startStack();
    await request(stack.url)
      .post('/v1/chat/completions')
      .set('x-headroom-bypass', 'false')
      .set('x-litellm-guardrails', 'headroom-compression')
      .set('x-headroom-enable', 'true')
      .send(chat());
    expect(stack.standIn.calls).toHaveLength(0);
  });
});

describe('response header', () => {
  test('merged with a value the upstream sets: comma-separated, no spaces, no duplicates', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    stack.upstream.responseHeaders['x-litellm-applied-guardrails'] = 'pii-mask, headroom-compression,,prompt-guard';
    const res = await request(stack.url).post('/v1/chat/completions').send(chat());
    expect(res.headers['x-litellm-applied-guardrails']).toBe('pii-mask,headroom-compression,prompt-guard');
  });

  test('merged with a value set earlier in the app, and token headers present', async () => {
    stack = await startStack({
      headroom: { defaultOn: true },
      before: [
        (_req, res, next) => {
          res.setHeader('x-litellm-applied-guardrails', 'pii-mask');
          next();
        },
      ],
    });
    const res = await request(stack.url).post('/v1/chat/completions').send(chat());
    expect(res.headers['x-litellm-applied-guardrails']).toBe('pii-mask,headroom-compression');
    const r = stack.results[0];
    expect(Number(res.headers['x-headroom-tokens-before'])).toBe(r.tokensBefore);
    expect(Number(res.headers['x-headroom-tokens-after'])).toBe(r.tokensAfter);
    expect(Number(res.headers['x-headroom-tokens-saved'])).toBe(r.tokensBefore! - r.tokensAfter!);
  });

  test('on a streamed (SSE) answer too', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    stack.upstream.responseHeaders['x-litellm-applied-guardrails'] = 'other';
    const res = await request(stack.url)
      .post('/v1/chat/completions')
      .send({ ...chat(), stream: true });
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    expect(res.headers['x-litellm-applied-guardrails']).toBe('other,headroom-compression');
    expect(res.text).toContain('data: [DONE]');
  });

  test('skipped below minTokens still marks the response, without token headers', async () => {
    stack = await startStack({ headroom: { defaultOn: true, minTokens: 1_000_000 } });
    const res = await request(stack.url).post('/v1/chat/completions').send(chat());
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    expect(res.headers['x-headroom-tokens-before']).toBeUndefined();
    expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'below_min_tokens' });
    expect(stack.standIn.calls).toHaveLength(0);
  });
});
