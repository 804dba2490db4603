/**
 * Virtual keys: /key/generate and /key/update behind the master key, persistence in SQLite (and in Postgres when its binaries are installed: one code path, db.ts), and the
 * 401 / 403 a client gets in its provider's error shape with nothing sent upstream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { MASTER_KEY, anthropicToolBody, openaiToolBody, post, GATEWAY_STORES, gatewayStackOn, startGatewayStack } from './helpers';

describe.each(GATEWAY_STORES)('on %s', (store) => {
  const on = gatewayStackOn(store);

  const master = { authorization: `Bearer ${MASTER_KEY}` };

  describe('POST /key/generate and /key/update', () => {
    test('generate answers in LiteLLM shape; the key works at once', async () => {
      const res = await post(`${on.stack.url}/key/generate`, { key_alias: 'team-a', guardrails: ['headroom-compression'], models: ['gpt-4o'], metadata: { team: 'a' } }, master);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ key_alias: 'team-a', guardrails: ['headroom-compression'], models: ['gpt-4o'], metadata: { team: 'a' }, expires: null });
      expect(res.json.key).toMatch(/^sk-[A-Za-z0-9_-]{32}$/);
      expect(res.json.token).toMatch(/^[0-9a-f]{64}$/);
      expect(res.json.key_name).toBe(`sk-...${res.json.key.slice(-4)}`);
      const call = await post(`${on.stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${res.json.key}` });
      expect(call.status).toBe(200);
      expect(call.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
    });

    test('only a hash of the key is stored', async () => {
      const { key } = await on.stack.generateKey({ key_alias: 'hashed' });
      const dump = JSON.stringify(await on.stack.gateway.db.query('SELECT * FROM keys'));
      expect(dump).not.toContain(key);
    });

    test('a caller-chosen key (LiteLLM allows it) and an empty body', async () => {
      const chosen = 'sk-chosen-by-caller-000000001';
      expect((await on.stack.generateKey({ key: chosen })).key).toBe(chosen);
      const bare = await on.stack.generateKey();
      expect(bare).toMatchObject({ key_alias: null, guardrails: [], models: [], metadata: {} });
    });

    test('update changes only the fields given and takes effect on the next request', async () => {
      const { key, token } = await on.stack.generateKey({ key_alias: 'team-b', models: ['claude-*'], metadata: { cost_center: 42 } });
      const before = await post(`${on.stack.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': key });
      expect(before.status).toBe(200);
      expect(before.headers.get('x-litellm-applied-guardrails')).toBeNull();

      const upd = await post(`${on.stack.url}/key/update`, { key, guardrails: ['headroom-compression'] }, master);
      expect(upd.status).toBe(200);
      expect(upd.json).toMatchObject({ key, token, key_alias: 'team-b', models: ['claude-*'], guardrails: ['headroom-compression'], metadata: { cost_center: 42 } });

      const after = await post(`${on.stack.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': key });
      expect(after.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
      expect(on.stack.upstream.requests[1].json.messages[2].content[0].content.startsWith('[standin:')).toBe(true);

      // By token (the hash) too, as LiteLLM accepts; clearing with [].
      const clear = await post(`${on.stack.url}/key/update`, { key: token, guardrails: [], key_alias: 'team-b2' }, master);
      expect(clear.json).toMatchObject({ guardrails: [], key_alias: 'team-b2' });
    });

    test('validation: unknown fields, wrong types, taken alias, unknown key', async () => {
      const unknown = await post(`${on.stack.url}/key/generate`, { max_budget: 10 }, master);
      expect(unknown.status).toBe(400);
      expect(unknown.json.error.message).toContain('unsupported field(s) max_budget');
      const wrong = await post(`${on.stack.url}/key/generate`, { guardrails: 'headroom-compression' }, master);
      expect(wrong.status).toBe(400);
      expect(wrong.json.error.message).toContain('guardrails');
      await on.stack.generateKey({ key_alias: 'unique-alias' });
      const taken = await post(`${on.stack.url}/key/generate`, { key_alias: 'unique-alias' }, master);
      expect(taken.status).toBe(400);
      expect(taken.json.error.message).toContain('already used');
      const missing = await post(`${on.stack.url}/key/update`, { key: 'sk-no-such-key-000000000000' }, master);
      expect(missing.status).toBe(404);
      const noKey = await post(`${on.stack.url}/key/update`, { guardrails: [] }, master);
      expect(noKey.status).toBe(400);
      const badJson = await fetch(`${on.stack.url}/key/generate`, { method: 'POST', headers: { ...master, 'content-type': 'application/json' }, body: '{"key_alias":' });
      expect(badJson.status).toBe(400);
    });

    test('the master key guards them; a virtual key is not enough', async () => {
      const { key } = await on.stack.generateKey();
      const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${key}` }];
      for (const headers of attempts) {
        const res = await post(`${on.stack.url}/key/generate`, {}, headers);
        expect(res.status).toBe(401);
        expect(res.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_master_key' });
        const upd = await post(`${on.stack.url}/key/update`, { key, guardrails: ['headroom-compression'] }, headers);
        expect(upd.status).toBe(401);
      }
      expect((await on.stack.gateway.keys.lookup(key))!.guardrails).toEqual([]);
    });

    test(`keys survive a restart (${store === 'postgres' ? 'Postgres' : 'SQLite file'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gateway-restart-'));
      const dbPath = join(dir, 'gateway.db');
      const where = on.databaseUrl ? { config: { databaseUrl: on.databaseUrl } } : { dbPath };
      try {
        const first = await startGatewayStack(where);
        const { key } = await first.generateKey({ key_alias: 'persistent', guardrails: ['headroom-compression'] });
        await first.close();
        const second = await startGatewayStack(where);
        try {
          const res = await post(`${second.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}` });
          expect(res.status).toBe(200);
          expect(res.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
        } finally {
          await second.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('401 and 403, in the provider error shape, nothing upstream', () => {
    test('no key / unknown key on /v1/messages: Anthropic shape', async () => {
      const none = await post(`${on.stack.url}/v1/messages`, anthropicToolBody(), { 'anthropic-version': '2023-06-01' });
      expect(none.status).toBe(401);
      expect(none.json).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('missing API key') } });
      const unknown = await post(`${on.stack.url}/v1/messages?beta=true`, anthropicToolBody(), { authorization: 'Bearer sk-not-a-gateway-key' });
      expect(unknown.status).toBe(401);
      expect(unknown.json.type).toBe('error');
      expect(unknown.json.error.type).toBe('authentication_error');
      expect(on.stack.upstream.requests).toHaveLength(0);
    });

    test('unknown key on /v1/chat/completions: OpenAI shape', async () => {
      const res = await post(`${on.stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: 'Bearer sk-nope' });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: { message: expect.stringContaining('invalid API key'), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      expect(on.stack.upstream.requests).toHaveLength(0);
    });

    test('the SDKs surface them as their own typed errors', async () => {
      const openai = new OpenAI({ baseURL: `${on.stack.url}/v1`, apiKey: 'sk-nope', maxRetries: 0 });
      await expect(openai.chat.completions.create(openaiToolBody() as OpenAI.ChatCompletionCreateParamsNonStreaming)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const anthropic = new Anthropic({ baseURL: on.stack.url, apiKey: 'sk-nope', maxRetries: 0 });
      await expect(anthropic.messages.create(anthropicToolBody() as unknown as Anthropic.MessageCreateParamsNonStreaming)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      const { key } = await on.stack.generateKey({ models: ['gpt-4o-mini'] });
      const limited = new OpenAI({ baseURL: `${on.stack.url}/v1`, apiKey: key, maxRetries: 0 });
      await expect(limited.chat.completions.create(openaiToolBody() as OpenAI.ChatCompletionCreateParamsNonStreaming)).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(on.stack.upstream.requests).toHaveLength(0);
    });

    test('a model outside the key: 403 in each shape; wildcards allow a family', async () => {
      const { key } = await on.stack.generateKey({ models: ['claude-sonnet-*', 'gpt-4o-mini'] });
      const a = await post(`${on.stack.url}/v1/messages`, anthropicToolBody({ model: 'claude-opus-4-8' }), { 'x-api-key': key });
      expect(a.status).toBe(403);
      expect(a.json).toEqual({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('claude-opus-4-8') } });
      const o = await post(`${on.stack.url}/v1/chat/completions`, openaiToolBody({ model: 'gpt-4o' }), { authorization: `Bearer ${key}` });
      expect(o.status).toBe(403);
      expect(o.json.error).toMatchObject({ code: 'model_not_allowed', param: null });
      const count = await post(`${on.stack.url}/v1/messages/count_tokens`, { model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key });
      expect(count.status).toBe(403);
      expect(on.stack.upstream.requests).toHaveLength(0);

      const ok = await post(`${on.stack.url}/v1/messages`, anthropicToolBody({ model: 'claude-sonnet-4-6' }), { 'x-api-key': key });
      expect(ok.status).toBe(200);
      expect(on.stack.upstream.requests).toHaveLength(1);
    });

    test('a wrong x-api-key beside a valid Bearer key (ANTHROPIC_API_KEY left in the shell) still authenticates', async () => {
      const { key } = await on.stack.generateKey();
      const res = await post(`${on.stack.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': 'sk-ant-real-personal-key', authorization: `Bearer ${key}` });
      expect(res.status).toBe(200);
      const got = on.stack.upstream.requests[0];
      expect(got.raw.includes('sk-ant-real-personal-key')).toBe(false);
      expect(JSON.stringify(got.headers)).not.toContain('sk-ant-real-personal-key');
    });

    test('the master key works on /v1 as an unrestricted key (as in LiteLLM)', async () => {
      const res = await post(`${on.stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${MASTER_KEY}` });
      expect(res.status).toBe(200);
      expect(JSON.stringify(on.stack.upstream.requests[0].headers)).not.toContain(MASTER_KEY);
    });
  });
});
