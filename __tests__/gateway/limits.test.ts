/**
 * Caps on client-chosen strings (README "Limits"): a huge model name or path is forwarded or refused,
 * but what the spend log stores and /ui renders stays small.
 */
import { MAX_ECHO_CHARS, MAX_MODEL_CHARS, MAX_PATH_CHARS, clip } from '../../examples/gateway/limits';
import { MASTER_KEY, openaiToolBody, post, startGatewayStack, type GatewayStack } from './helpers';

let stack: GatewayStack;
let unrestricted: string;
let restricted: string;
const master = { authorization: `Bearer ${MASTER_KEY}` };
const MB = 1024 * 1024;
const hugeModel = `gpt-${'x'.repeat(MB - 4)}`;
const hugeId = 'm'.repeat(100 * 1024);

beforeAll(async () => {
  // Node answers 431 to a request line over 16 KB by default; an operator may raise it (--max-http-header-size).
  stack = await startGatewayStack({ maxHeaderSize: 256 * 1024 });
  unrestricted = (await stack.generateKey({ key_alias: 'open-key' })).key;
  restricted = (await stack.generateKey({ key_alias: 'family-key', models: ['claude-*-*-latest', 'gpt-*'] })).key;
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.upstream.requests.length = 0;
});

const ui = async (path: string) => {
  const res = await fetch(`${stack.url}${path}`, { headers: master });
  return { status: res.status, body: await res.text() };
};

describe('clip', () => {
  test('keeps short values, marks cut ones with the original length, never splits a surrogate pair', () => {
    expect(clip('gpt-4o', 10)).toBe('gpt-4o');
    expect(clip('abcdef', 3)).toBe('abc…[truncated, 6 chars]');
    const emoji = `ab${'😀'}cd`; // 😀 is two UTF-16 units at [2, 3]
    expect(clip(emoji, 3)).toBe('ab…[truncated, 6 chars]');
  });
});

describe('model name', () => {
  test('1 MB on an unrestricted key: forwarded whole (the provider decides), stored capped with a marker', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ model: hugeModel }), { authorization: `Bearer ${unrestricted}` });
    expect(res.status).toBe(200);
    expect(stack.upstream.requests[0].json.model).toBe(hugeModel);
    const row = await stack.spendRow(res.headers.get('x-litellm-call-id')!);
    expect(row.model).toBe(`${hugeModel.slice(0, MAX_MODEL_CHARS)}…[truncated, ${MB} chars]`);
    expect(JSON.stringify(row).length).toBeLessThan(8 * 1024);
  });

  test('over the cap on a key with a models allow-list: 400 in the provider shape, nothing upstream, no echo', async () => {
    const anthropic = await post(
      `${stack.url}/v1/messages`,
      { model: `claude-${'-'.repeat(MB)}`, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] },
      { 'x-api-key': restricted },
    );
    expect(anthropic.status).toBe(400);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(`at most ${MAX_MODEL_CHARS}`) } });
    const openai = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ model: hugeModel }), { authorization: `Bearer ${restricted}` });
    expect(openai.status).toBe(400);
    expect(openai.json.error).toMatchObject({ code: 'model_name_too_long', param: null });
    expect(openai.text.length).toBeLessThan(1024);
    expect(stack.upstream.requests).toHaveLength(0);
    const row = await stack.spendRow(openai.headers.get('x-litellm-call-id')!);
    expect(row).toMatchObject({ status: 400, error: 'model_name_too_long' });
    expect(row.model!.length).toBeLessThan(MAX_MODEL_CHARS + 40);
  });

  test('at the cap on a restricted key: still matched (and refused with 403 when outside the list, echo bounded)', async () => {
    const longest = `gpt-${'y'.repeat(MAX_MODEL_CHARS - 4)}`;
    const ok = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ model: longest }), { authorization: `Bearer ${restricted}` });
    expect(ok.status).toBe(200);
    const other = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ model: 'z'.repeat(MAX_MODEL_CHARS) }), { authorization: `Bearer ${restricted}` });
    expect(other.status).toBe(403);
    expect(other.text.length).toBeLessThan(1024);
  });

  test('key fields: an alias over 256 or a models pattern over the model cap is refused', async () => {
    const alias = await post(`${stack.url}/key/generate`, { key_alias: 'a'.repeat(257) }, master);
    expect(alias.status).toBe(400);
    expect(alias.json.error.message).toContain('key_alias');
    const pattern = await post(`${stack.url}/key/generate`, { models: [`${'p'.repeat(MAX_MODEL_CHARS)}*`] }, master);
    expect(pattern.status).toBe(400);
    expect(pattern.json.error.message).toContain('models');
  });
});

describe('request path', () => {
  test('100 KB path that is forwarded (GET /v1/models/{id}): stored capped with a marker', async () => {
    const res = await fetch(`${stack.url}/v1/models/${hugeId}`, { headers: { authorization: `Bearer ${unrestricted}` } });
    // Forwarded: the upstream decides (the stand-in, a Node server with the default limit, answers 431).
    expect(res.status).toBe(431);
    const row = await stack.spendRow(res.headers.get('x-litellm-call-id')!);
    expect(row).toMatchObject({ upstream_status: 431, error: null });
    const full = `/v1/models/${hugeId}`;
    expect(row.path).toBe(`${full.slice(0, MAX_PATH_CHARS)}…[truncated, ${full.length} chars]`);
  });

  test('100 KB path that is not forwarded: 404 whose message quotes it capped; stored capped', async () => {
    const res = await fetch(`${stack.url}/v1/${hugeId}?q=1`, { headers: { authorization: `Bearer ${unrestricted}` } });
    expect(res.status).toBe(404);
    const body = await res.text();
    expect(body.length).toBeLessThan(2048);
    expect(JSON.parse(body).error.message).toContain(`/v1/${hugeId.slice(0, MAX_ECHO_CHARS - 4)}…[truncated, ${hugeId.length + 4} chars]`);
    const row = await stack.spendRow(res.headers.get('x-litellm-call-id')!);
    expect(row.error).toBe('route_not_found');
    expect(row.path.length).toBeLessThan(MAX_PATH_CHARS + 40);
    const admin = await fetch(`${stack.url}/${hugeId}`, { headers: master });
    expect(admin.status).toBe(404);
    expect((await admin.text()).length).toBeLessThan(2048);
  });
});

describe('/ui stays small', () => {
  test('the Logs page and a request page with those rows', async () => {
    const a = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ model: hugeModel }), { authorization: `Bearer ${unrestricted}` });
    const b = await fetch(`${stack.url}/v1/models/${hugeId}`, { headers: { authorization: `Bearer ${unrestricted}` } });
    await stack.spendRow(a.headers.get('x-litellm-call-id')!);
    const id = b.headers.get('x-litellm-call-id')!;
    await stack.spendRow(id);

    const logs = await ui('/ui');
    expect(logs.status).toBe(200);
    expect(logs.body).toContain(`…[truncated, ${MB} chars]`);
    expect(logs.body).toContain(`[truncated, ${hugeId.length + '/v1/models/'.length} chars]`);
    expect(logs.body.length).toBeLessThan(128 * 1024);
    const detail = await ui(`/ui/requests/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.length).toBeLessThan(64 * 1024);
  });

  test('UI echoes of the URL are capped: an unknown request id, an unknown page, an over-long alias filter', async () => {
    const missing = await ui(`/ui/requests/${'r'.repeat(50_000)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.length).toBeLessThan(32 * 1024);
    const page = await ui(`/ui/${'n'.repeat(50_000)}`);
    expect(page.status).toBe(404);
    expect(page.body.length).toBeLessThan(32 * 1024);
    const alias = await ui(`/ui?key_alias=${'k'.repeat(50_000)}`);
    expect(alias.status).toBe(400);
    expect(alias.body.length).toBeLessThan(32 * 1024);
    // Signed out: the login form carries the page to return to, unless it is longer than a stored path.
    const login = await fetch(`${stack.url}/ui/requests/${'r'.repeat(50_000)}`);
    expect(login.status).toBe(401);
    expect((await login.text()).length).toBeLessThan(32 * 1024);
    const status = await ui(`/ui?status=${'s'.repeat(50_000)}`);
    expect(status.status).toBe(400);
    expect(status.body.length).toBeLessThan(32 * 1024);
  });
});
