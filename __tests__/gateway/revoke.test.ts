/**
 * POST /key/delete (LiteLLM's): a leaked virtual key is revoked, and the next request with it gets
 * 401 on every /v1 route. On SQLite, and on Postgres when its binaries are installed (one code path, db.ts).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { MASTER_KEY, anthropicToolBody, openaiToolBody, post, GATEWAY_STORES, gatewayStackOn } from './helpers';

describe.each(GATEWAY_STORES)('on %s', (store) => {
  const on = gatewayStackOn(store);

  const master = { authorization: `Bearer ${MASTER_KEY}` };
  const del = (body: unknown, headers: Record<string, string> = master) => post(`${on.stack.url}/key/delete`, body, headers);

  /** Status of each /v1 route the gateway forwards, called with `key`. */
  async function statuses(key: string): Promise<number[]> {
    const bearer = { authorization: `Bearer ${key}` };
    const anthropicHeaders = { 'x-api-key': key, 'anthropic-version': '2023-06-01' };
    const simple = { model: 'gpt-4o', input: 'hi' };
    const calls = [
      post(`${on.stack.url}/v1/messages`, anthropicToolBody(), anthropicHeaders),
      post(`${on.stack.url}/v1/messages/count_tokens`, { model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }, anthropicHeaders),
      post(`${on.stack.url}/v1/complete`, { model: 'claude-2', prompt: 'hi', max_tokens_to_sample: 1 }, anthropicHeaders),
      post(`${on.stack.url}/v1/chat/completions`, openaiToolBody(), bearer),
      post(`${on.stack.url}/v1/completions`, { model: 'gpt-4o', prompt: 'hi' }, bearer),
      post(`${on.stack.url}/v1/responses`, simple, bearer),
      post(`${on.stack.url}/v1/embeddings`, simple, bearer),
      post(`${on.stack.url}/v1/moderations`, simple, bearer),
      fetch(`${on.stack.url}/v1/models`, { headers: bearer }),
      fetch(`${on.stack.url}/v1/models/claude-sonnet-4-6`, { headers: anthropicHeaders }),
    ];
    return (await Promise.all(calls)).map((r) => r.status);
  }

  describe('POST /key/delete', () => {
    test('a deleted key gets 401 at once on every /v1 route; others keep working', async () => {
      const leaked = await on.stack.generateKey({ key_alias: 'leaked', guardrails: ['headroom-compression'] });
      const other = await on.stack.generateKey({ key_alias: 'bystander' });
      const openai = new OpenAI({ baseURL: `${on.stack.url}/v1`, apiKey: leaked.key, maxRetries: 0 });
      const before = await openai.chat.completions.create(openaiToolBody() as OpenAI.ChatCompletionCreateParamsNonStreaming);
      expect(before.choices[0].message.role).toBe('assistant');
      expect((await statuses(leaked.key)).every((s) => s !== 401)).toBe(true);

      const res = await del({ keys: [leaked.key] });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ deleted_keys: [leaked.key] });

      on.stack.upstream.requests.length = 0;
      expect(await statuses(leaked.key)).toEqual(new Array(10).fill(401));
      await expect(openai.chat.completions.create(openaiToolBody() as OpenAI.ChatCompletionCreateParamsNonStreaming)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const anthropic = new Anthropic({ baseURL: on.stack.url, apiKey: leaked.key, maxRetries: 0 });
      await expect(anthropic.messages.create(anthropicToolBody() as unknown as Anthropic.MessageCreateParamsNonStreaming)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      expect(on.stack.upstream.requests).toHaveLength(0);
      expect(await on.stack.gateway.keys.lookup(leaked.key)).toBeUndefined();

      const ok = await post(`${on.stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${other.key}` });
      expect(ok.status).toBe(200);
    });

    test('by token (SHA-256 hex), several at once; the alias is free again', async () => {
      const a = await on.stack.generateKey({ key_alias: 'by-token-a' });
      const b = await on.stack.generateKey({ key_alias: 'by-token-b' });
      const res = await del({ keys: [a.token, b.key] });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ deleted_keys: [a.token, b.key] });
      for (const k of [a.key, b.key]) expect((await post(`${on.stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${k}` })).status).toBe(401);
      expect((await on.stack.generateKey({ key_alias: 'by-token-a' })).key_alias).toBe('by-token-a');
    });

    test('an unknown key: 404 in the admin error shape, and nothing is deleted', async () => {
      const kept = await on.stack.generateKey();
      const unknown = 'sk-never-issued-000000000000wxyz';
      const res = await del({ keys: [kept.key, unknown] });
      expect(res.status).toBe(404);
      // The same shape /key/update answers for an unknown key.
      const update = await post(`${on.stack.url}/key/update`, { key: unknown }, master);
      expect(update.status).toBe(404);
      expect(res.json).toEqual({ error: { message: expect.stringContaining('key not found'), type: update.json.error.type, param: null, code: 'key_not_found' } });
      expect(res.text).not.toContain(unknown); // named abbreviated (sk-...wxyz), never whole
      expect(res.json.error.message).toContain('sk-...wxyz');
      expect(await on.stack.gateway.keys.lookup(kept.key)).toBeDefined();
      // Deleting twice: the second call finds nothing.
      expect((await del({ keys: [kept.key] })).status).toBe(200);
      expect((await del({ keys: [kept.key] })).status).toBe(404);
    });

    test('bad bodies: 400 naming the problem', async () => {
      for (const body of [{}, { keys: [] }, { keys: 'sk-x' }, { keys: [42] }, { keys: ['sk-x'], key_aliases: ['a'] }]) {
        const res = await del(body);
        expect(res.status).toBe(400);
        expect(res.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
      }
      expect((await del({ keys: ['sk-x'], key_aliases: ['a'] })).json.error.message).toContain('unsupported field(s) key_aliases (this gateway supports keys)');
    });

    test('the master key only: a virtual key cannot delete itself or another', async () => {
      const { key } = await on.stack.generateKey();
      const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${key}` }];
      for (const headers of attempts) {
        const res = await del({ keys: [key] }, headers);
        expect(res.status).toBe(401);
        expect(res.json.error.code).toBe('invalid_master_key');
      }
      expect(await on.stack.gateway.keys.lookup(key)).toBeDefined();
    });
  });
});
