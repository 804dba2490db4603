/**
 * A gateway with the embedded compressor and a local upstream, plus a second gateway on the same
 * SQLite file whose HEADROOM_API_BASE is a closed port (its compress calls fail, and it fails open),
 * and one request of each kind the Logs view must show: compressed (Anthropic, and OpenAI opted in
 * per request), skipped below min tokens, bypassed, not enabled, failed open, 401, and one from a
 * key whose alias is markup.
 */
import { createServer } from 'node:net';
import type { SpendEntry } from '../../examples/gateway/spend';
import { anthropicToolBody, openaiToolBody, post, startGatewayStack, type GatewayStack } from '../gateway/helpers';

export const XSS_ALIAS = '<script>alert(1)</script>';

export type Kind = 'compressed' | 'compressedOpenai' | 'skipped' | 'bypassed' | 'notEnabled' | 'failedOpen' | 'unauthorized' | 'xss';

export interface UiTraffic {
  stack: GatewayStack;
  /** The gateway whose Headroom service is unreachable (same database). */
  failing: GatewayStack;
  ids: Record<Kind, string>;
  rows: Record<Kind, SpendEntry>;
  close(): Promise<void>;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const smallToolBody = () => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 256,
  messages: [
    { role: 'user', content: 'Which jobs failed?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'list_jobs', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '[{"id": 1, "status": "ok"}, {"id": 2, "status": "failed"}]' }] },
  ],
});

export async function startUiTraffic(): Promise<UiTraffic> {
  const stack = await startGatewayStack({ compression: 'embedded' });
  let failing: GatewayStack | undefined;
  try {
    failing = await startGatewayStack({ compression: 'embedded', dbPath: stack.dbPath, config: { headroomApiBase: `http://127.0.0.1:${await closedPort()}` } });
    const team = (await stack.generateKey({ key_alias: 'claude-code-team', guardrails: ['headroom-compression'], models: ['claude-*'] })).key;
    const agents = (await stack.generateKey({ key_alias: 'agents' })).key;
    const xss = (await stack.generateKey({ key_alias: XSS_ALIAS, guardrails: ['headroom-compression'] })).key;
    const anthropic = { 'anthropic-version': '2023-06-01' };

    // The compressed request's upstream takes a while, so its lifecycle has visible proportions:
    // 40 ms to the first byte, 25 ms more to the end of the answer.
    stack.upstream.reply = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"msg_standin_slow","type":"message","role":"assistant",');
        setTimeout(
          () =>
            res.end(
              '"model":"claude-sonnet-4-6","content":[{"type":"text","text":"Items 3 and 20 are failing."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":8}}',
            ),
          25,
        );
      }, 40);
    };
    const sent: Partial<Record<Kind, { headers: Headers }>> = {};
    sent.compressed = await post(`${stack.url}/v1/messages`, anthropicToolBody(), { ...anthropic, authorization: `Bearer ${team}` });
    stack.upstream.reply = undefined;
    sent.compressedOpenai = await post(`${stack.url}/v1/chat/completions`, openaiToolBody({ guardrails: ['headroom-compression'] }), { authorization: `Bearer ${agents}` });
    sent.skipped = await post(`${stack.url}/v1/messages`, smallToolBody(), { ...anthropic, 'x-api-key': team });
    sent.bypassed = await post(`${stack.url}/v1/messages`, anthropicToolBody(), { ...anthropic, 'x-api-key': team, 'x-headroom-bypass': 'true' });
    sent.notEnabled = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${agents}` });
    sent.failedOpen = await post(`${failing.url}/v1/messages`, anthropicToolBody(), { ...anthropic, 'x-api-key': team });
    sent.unauthorized = await post(`${stack.url}/v1/messages`, anthropicToolBody(), { ...anthropic, 'x-api-key': 'sk-not-a-key-of-this-gateway' });
    sent.xss = await post(`${stack.url}/v1/messages`, smallToolBody(), { ...anthropic, 'x-api-key': xss });

    const ids = Object.fromEntries(Object.entries(sent).map(([k, r]) => [k, r!.headers.get('x-litellm-call-id')!])) as Record<Kind, string>;
    const rows = {} as Record<Kind, SpendEntry>;
    for (const [k, id] of Object.entries(ids) as Array<[Kind, string]>) rows[k] = await stack.spendRow(id);

    const f = failing;
    return {
      stack,
      failing,
      ids,
      rows,
      async close() {
        await f.close();
        await stack.close();
      },
    };
  } catch (err) {
    await failing?.close();
    await stack.close();
    throw err;
  }
}
