/**
 * The real Codex CLI (`@openai/codex`, `codex exec`), unchanged, through the gateway, with a custom
 * model provider on the Responses wire API:
 *
 *   codex exec ─▶ tap (records what Codex sent) ─▶ gateway /v1/responses ─▶ loopback Responses model
 *
 * The model is scripted: turn 1 thinks (a `reasoning` item with `encrypted_content`) and asks for
 * one `exec_command` that prints a large orders export; turn 2 thinks again and asks for a small
 * command; turn 3 answers. Codex runs both commands for real and sends their output back as
 * `function_call_output` items. The checks:
 *  - the CLI completes (exit 0) and contacts nothing but the gateway;
 *  - the large output is compressed on the turn it first appears, and only there is Headroom asked;
 *  - everything else Codex sent (reasoning with `encrypted_content`, calls, messages, tools, every
 *    top-level field) arrives byte for byte, and the model's own reasoning and calls come back as
 *    it produced them;
 *  - each turn's forwarded `input` begins with the previous turn's (the compressed output is
 *    replayed from the memo, so the provider's prompt cache keeps hitting).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOnLoopback } from '../kit/listen';
import { functionCallItem, messageItem, reasoningItem, startResponsesUpstream, type ResponsesUpstream } from '../kit/responses-upstream';
import { CODEX_MODEL as MODEL, codexConfig, codexEvents, killCodex, runCodex, startTrapProxy } from './codex-runner';
import { OPENAI_KEY, startGatewayStack, type GatewayStack } from './helpers';
import { toolRows } from '../kit/service-rows';

const FINAL = 'CODEX-DONE: 12 orders were refunded.';
const BIG_CALL = 'call_orders_0001';
const SMALL_CALL = 'call_count_0002';
/** Opaque to everyone but the provider: must come back exactly as emitted. */
const ENCRYPTED_1 = 'gAAAAAB' + Buffer.from('reasoning-one:'.repeat(40)).toString('base64');
const ENCRYPTED_2 = 'gAAAAAB' + Buffer.from('reasoning-two:'.repeat(40)).toString('base64');
const OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output']);

jest.setTimeout(60_000);

/** An orders export: 300 pretty-printed rows, about 60 KB. */
function ordersExport(): string {
  const statuses = ['shipped', 'delivered', 'refunded', 'pending', 'cancelled'];
  const orders = Array.from({ length: 300 }, (_, i) => ({
    order_id: `ORD-${70000 + i}`,
    customer_id: `CUS-${1000 + ((i * 37) % 250)}`,
    status: i % 25 === 7 ? 'refunded' : statuses[i % 5 === 2 ? 0 : i % 5],
    amount_cents: 1000 + ((i * 7919) % 50000),
    currency: i % 3 === 0 ? 'USD' : 'EUR',
    created_at: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
  }));
  return JSON.stringify({ data: orders, has_more: false }, null, 2) + '\n';
}

function outputsOf(body: any): any[] {
  return (body?.input ?? []).filter((i: any) => OUTPUT_TYPES.has(i?.type));
}
function outputFor(body: any, callId: string): any {
  return outputsOf(body).find((i) => i.call_id === callId);
}
/** The body with every tool output blanked: what must be identical before and after. */
function withoutOutputs(body: any): any {
  const b = JSON.parse(JSON.stringify(body));
  for (const item of b.input ?? []) if (OUTPUT_TYPES.has(item?.type)) item.output = '<output>';
  return b;
}

/** Where two long strings first differ (with some context), or null: readable where a full diff of 80 KB is not. */
function firstDifference(a: string, b: string): { at: number; got: string; expected: string } | null {
  if (a === b) return null;
  let at = 0;
  while (at < a.length && a[at] === b[at]) at++;
  return { at, got: a.slice(Math.max(0, at - 80), at + 80), expected: b.slice(Math.max(0, at - 80), at + 80) };
}

/** Turn 1: think, cat the export. Turn 2: think, count its bytes. Turn 3: answer. */
function scriptModel(up: ResponsesUpstream): void {
  up.script = (r) => {
    const done = new Set(outputsOf(r.json).map((o) => o.call_id));
    if (!done.has(BIG_CALL)) {
      return [
        reasoningItem('rs_codex_0001', 'Read the orders export.', ENCRYPTED_1),
        functionCallItem('fc_codex_0001', BIG_CALL, 'exec_command', { cmd: 'cat orders.json', max_output_tokens: 20000 }),
      ];
    }
    if (!done.has(SMALL_CALL)) {
      return [reasoningItem('rs_codex_0002', 'Check the file size.', ENCRYPTED_2), functionCallItem('fc_codex_0002', SMALL_CALL, 'exec_command', { cmd: 'wc -c orders.json' })];
    }
    return [messageItem('msg_codex_0003', FINAL)];
  };
}

interface Seen {
  method: string;
  url: string;
  raw: Buffer;
  json?: any;
}

/** A pass-through proxy in front of the gateway that records the exact bytes Codex sent. */
async function startTap(target: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const s: Seen = { method: req.method!, url: req.url!, raw };
      try {
        s.json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        /* raw only */
      }
      seen.push(s);
      const fwd = http.request(target + req.url, { method: req.method, headers: req.headers, agent: false }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      fwd.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `tap: ${err.message}` } }));
      });
      fwd.end(raw);
    });
  });
  const bound = await listenOnLoopback(server);
  return { url: bound.url, seen, close: bound.close };
}

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  killCodex();
  for (const close of closers.reverse()) await close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('codex exec runs a shell tool round through the gateway: output compressed once, everything else byte for byte, prefix-stable turns', async () => {
  const model = await startResponsesUpstream();
  closers.push(() => model.close());
  scriptModel(model);
  const stack: GatewayStack = await startGatewayStack({ config: { openaiUpstream: model.url } });
  closers.push(() => stack.close());
  const tap = await startTap(stack.url);
  closers.push(() => tap.close());
  const trap = await startTrapProxy();
  closers.push(() => trap.close());

  const { key } = await stack.generateKey({ key_alias: 'codex-cli', guardrails: ['headroom-compression'], models: ['gpt-5*'] });
  const home = mkdtempSync(join(tmpdir(), 'codex-home-'));
  const work = mkdtempSync(join(tmpdir(), 'codex-work-'));
  dirs.push(home, work);
  writeFileSync(join(home, 'config.toml'), codexConfig(tap.url));
  const orders = ordersExport();
  expect(orders.length).toBeGreaterThan(40_000);
  writeFileSync(join(work, 'orders.json'), orders);

  const run = await runCodex({ home, work, key, proxy: trap.url, prompt: 'Which orders in orders.json were refunded?' });
  const traffic = model.requests.map((r) => `${r.method} ${r.url} outputs=${outputsOf(r.json).map((o) => o.call_id)}`).join('\n');
  expect({ code: run.code, signal: run.signal, stderr: run.stderr.slice(-4000), traffic }).toMatchObject({ code: 0, signal: null });

  // Codex ran both commands for real and printed the model's answer.
  const events = codexEvents(run.stdout);
  const commands = events.filter((e) => e.type === 'item.completed' && e.item?.type === 'command_execution').map((e) => e.item);
  expect(commands.map((c) => [c.command, c.exit_code])).toEqual([
    [expect.stringContaining('cat orders.json'), 0],
    [expect.stringContaining('wc -c orders.json'), 0],
  ]);
  // The agent itself saw the whole export: only what goes upstream is compressed.
  expect(commands[0].aggregated_output).toBe(orders);
  expect(events.some((e) => e.type === 'item.completed' && e.item?.type === 'agent_message' && e.item.text === FINAL)).toBe(true);

  // Nothing but the gateway: no update check, analytics, plugin or connector traffic.
  expect(trap.attempts).toEqual([]);

  // Three model turns, every one through the tap and the gateway, in order.
  const sent = tap.seen;
  const fwd = model.requests;
  expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /v1/responses', 'POST /v1/responses', 'POST /v1/responses']);
  expect(fwd.map((r) => `${r.method} ${r.url}`)).toEqual(sent.map((s) => `${s.method} ${s.url}`));
  expect(fwd.map((r) => outputsOf(r.json).map((o) => o.call_id))).toEqual([[], [BIG_CALL], [BIG_CALL, SMALL_CALL]]);

  for (const [i, r] of fwd.entries()) {
    // Provider key injected; the virtual key and the opt-in never reach the provider.
    expect(r.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(r.raw.includes(key)).toBe(false);
    expect(JSON.stringify(r.headers)).not.toContain(key);
    expect(r.json.guardrails).toBeUndefined();
    expect(r.json.stream).toBe(true);
    expect(r.json.include).toContain('reasoning.encrypted_content');
    // Everything but tool outputs as Codex sent it: top-level fields, tools, every other item…
    expect(withoutOutputs(r.json)).toEqual(withoutOutputs(sent[i].json));
    // …and byte for byte: the forwarded body is the body Codex sent with the large output's string swapped.
    let expected = sent[i].raw.toString('utf8');
    const mine = outputFor(sent[i].json, BIG_CALL);
    if (mine) expected = expected.split(JSON.stringify(mine.output)).join(JSON.stringify(outputFor(r.json, BIG_CALL).output));
    expect(firstDifference(r.raw.toString('utf8'), expected)).toBeNull();
  }

  // Turn 2: the export Codex sent back is compressed on its first appearance.
  const sentBig = outputFor(sent[1].json, BIG_CALL);
  const fwdBig = outputFor(fwd[1].json, BIG_CALL);
  expect(typeof sentBig.output).toBe('string');
  expect(sentBig.output).toContain('"order_id": "ORD-70000"');
  expect(sentBig.output.length).toBeGreaterThan(4_000);
  expect(fwdBig.output).toMatch(/^\[standin:\d+ chars\] /);
  expect(fwdBig.output.length).toBeLessThan(sentBig.output.length / 10);
  expect({ ...fwdBig, output: '<output>' }).toEqual({ ...sentBig, output: '<output>' });
  // Headroom was asked about exactly that output, once; the small `wc` output was never worth sending.
  const asked = stack.service!.calls.flatMap((c) => toolRows(c).map((m: any) => m.content));
  expect(asked).toEqual([sentBig.output]);

  // Turn 3: the small output is untouched; the big one is history, replayed from the memo although
  // Codex sent the original again.
  const sentSmall = outputFor(sent[2].json, SMALL_CALL);
  expect(sentSmall.output).toContain('orders.json');
  expect(outputFor(fwd[2].json, SMALL_CALL)).toEqual(sentSmall);
  expect(outputFor(sent[2].json, BIG_CALL).output).toBe(sentBig.output);
  expect(outputFor(fwd[2].json, BIG_CALL)).toEqual(fwdBig);

  // Each turn's forwarded input begins with the previous turn's, item for item and byte for byte.
  const items = fwd.map((r) => r.json.input.map((i: unknown) => JSON.stringify(i)));
  for (let k = 1; k < items.length; k++) {
    expect(items[k].length).toBeGreaterThan(items[k - 1].length);
    expect(items[k].slice(0, items[k - 1].length)).toEqual(items[k - 1]);
  }

  // The model's own reasoning and calls come back as it produced them: encrypted_content exactly,
  // in the forwarded bytes themselves.
  const emitted = model.answers.flatMap((a) => a.items.map((s) => JSON.parse(s)));
  for (const item of emitted.filter((e) => e.type === 'reasoning')) {
    const back = fwd[2].json.input.find((i: any) => i.type === 'reasoning' && i.id === item.id);
    expect(back).toMatchObject({ id: item.id, summary: item.summary, encrypted_content: item.encrypted_content });
    expect(fwd[2].raw.includes(JSON.stringify(item.encrypted_content))).toBe(true);
  }
  expect(fwd[2].json.input.filter((i: any) => i.type === 'reasoning').map((i: any) => i.encrypted_content)).toEqual([ENCRYPTED_1, ENCRYPTED_2]);
  for (const item of emitted.filter((e) => e.type === 'function_call')) {
    const back = fwd[2].json.input.find((i: any) => i.type === 'function_call' && i.call_id === item.call_id);
    expect(back).toMatchObject({ name: item.name, arguments: item.arguments, call_id: item.call_id });
  }

  // The spend log: three rows under the key's alias, the compressed one in the middle.
  await stack.flushSpend();
  const rows = (await stack.gateway.spend.list({ key_alias: 'codex-cli' })).sort((a, b) => a.received_at - b.received_at);
  expect(rows.map((r) => [r.path, r.status, r.model, r.stream])).toEqual(Array(3).fill(['/v1/responses', 200, MODEL, true]));
  expect(rows.map((r) => r.request_bytes)).toEqual(sent.map((s) => s.raw.length));
  expect(rows.map((r) => r.forwarded_bytes)).toEqual(fwd.map((r) => r.raw.length));
  expect(rows[1]).toMatchObject({ headroom_status: 'compressed' });
  expect(rows[1].tokens_saved).toBeGreaterThan(0);
});
