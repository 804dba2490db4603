/**
 * Claude Code itself, unchanged, through the gateway:
 *   ANTHROPIC_BASE_URL=<gateway> ANTHROPIC_AUTH_TOKEN=<virtual key> claude -p "…" --allowedTools Bash
 * The local upstream is scripted like a model that runs one Bash command (a large output) and then
 * answers: the CLI runs the command for real, sends its output back as a tool_result through the
 * gateway, and prints the final text.
 */
import type { StandInRequest } from '../../examples/gateway/upstream-standin';
import { ANTHROPIC_KEY, startGatewayStack, type GatewayStack } from './helpers';
import { toolRows } from '../kit/service-rows';
import { runClaude } from './claude-runner';

const ARGS = ['-p', 'Print 1200 numbered lines with Bash, then tell me how many there were.', '--allowedTools', 'Bash'];

const FINAL = 'FINAL-ANSWER: the command printed 1200 lines.';
/** About 11 KB of output: well past the default minTokens (1000). */
const COMMAND = "seq 1 1200 | sed 's/^/line /'";
const EXPECTED_OUTPUT = Array.from({ length: 1200 }, (_, i) => `line ${i + 1}`).join('\n');

jest.setTimeout(90_000);

function hasToolResult(r: StandInRequest): boolean {
  return JSON.stringify(r.json?.messages ?? []).includes('"tool_result"');
}

/** A model that calls Bash once, then answers. Other calls (titles, summaries) get a short text. */
function scriptUpstream(stack: GatewayStack): void {
  stack.upstream.script = (r) => {
    const tools: Array<{ name: string }> = r.json?.tools ?? [];
    if (!tools.some((t) => t.name === 'Bash')) return { text: 'Counting lines' };
    if (hasToolResult(r)) return { text: FINAL };
    return { toolUse: { id: 'toolu_cli_0001', name: 'Bash', input: { command: COMMAND, description: 'Print 1200 numbered lines' } } };
  };
}

function describeTraffic(stack: GatewayStack): string {
  return stack.upstream.requests.map((r) => `${r.method} ${r.url} stream=${r.json?.stream} tools=${r.json?.tools?.length ?? 0}`).join('\n');
}

/** The tool_result block Claude Code sent back, from the upstream's view of a request. */
function toolResultOf(r: StandInRequest): any {
  for (const m of r.json.messages) if (Array.isArray(m.content)) for (const b of m.content) if (b.type === 'tool_result') return b;
  return undefined;
}

let stack: GatewayStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

test('claude -p completes a Bash tool round through the gateway; the tool output goes upstream compressed', async () => {
  stack = await startGatewayStack();
  scriptUpstream(stack);
  const { key } = await stack.generateKey({ key_alias: 'claude-code', guardrails: ['headroom-compression'], models: ['claude-*'] });

  const run = await runClaude({ args: ARGS, baseUrl: stack.url, token: key });
  const traffic = describeTraffic(stack);
  expect({ code: run.code, stderr: run.stderr, traffic }).toMatchObject({ code: 0 });
  expect(run.stdout).toContain(FINAL);

  const generations = stack.upstream.requests.filter((r) => r.path === '/v1/messages' && r.json?.tools?.some((t: any) => t.name === 'Bash'));
  const first = generations.find((r) => !hasToolResult(r));
  const second = generations.find(hasToolResult);
  expect(first).toBeDefined();
  expect(second).toBeDefined();

  // The tool_result arrived compressed (the Headroom stand-in's marker, then the head of the real output).
  const result = toolResultOf(second!);
  expect(result.tool_use_id).toBe('toolu_cli_0001');
  const text = typeof result.content === 'string' ? result.content : result.content.map((p: any) => p.text).join('');
  expect(text).toMatch(/^\[standin:\d+ chars\] line 1\nline 2\n/);
  expect(text.length).toBeLessThan(EXPECTED_OUTPUT.length / 10);
  // The Headroom service was asked about exactly that output.
  const asked = stack.service!.calls.flatMap((c) => toolRows(c).map((m: any) => m.content as string));
  expect(asked.some((c) => c.includes('line 1200'))).toBe(true);

  for (const r of stack.upstream.requests) {
    // Provider key injected, the virtual key never forwarded, no opt-in fields.
    expect(r.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(r.headers.authorization).toBeUndefined();
    expect(r.raw.includes(key)).toBe(false);
    expect(JSON.stringify(r.headers)).not.toContain(key);
    if (r.json) {
      expect(r.json.guardrails).toBeUndefined();
      expect(r.json.litellm_metadata).toBeUndefined();
    }
  }

  // Every call is in the spend log under the key's alias; the tool round is recorded as compressed.
  await stack.flushSpend();
  const logs = await stack.gateway.spend.list({ key_alias: 'claude-code' });
  expect(logs.length).toBeGreaterThanOrEqual(2);
  expect(logs.some((l) => l.path === '/v1/messages' && l.headroom_status === 'compressed' && (l.tokens_saved ?? 0) > 0)).toBe(true);
});

test('claude -p with the embedded compressor (no HEADROOM_API_BASE)', async () => {
  stack = await startGatewayStack({ compression: 'embedded' });
  scriptUpstream(stack);
  const { key } = await stack.generateKey({ key_alias: 'claude-code-embedded', guardrails: ['headroom-compression'] });

  const run = await runClaude({ args: ARGS, baseUrl: stack.url, token: key });
  expect({ code: run.code, stderr: run.stderr, traffic: describeTraffic(stack) }).toMatchObject({ code: 0 });
  expect(run.stdout).toContain(FINAL);

  const second = stack.upstream.requests.find((r) => r.path === '/v1/messages' && hasToolResult(r));
  const result = toolResultOf(second!);
  const text = typeof result.content === 'string' ? result.content : result.content.map((p: any) => p.text).join('');
  expect(text.length).toBeLessThan(EXPECTED_OUTPUT.length);
  expect(second!.headers['x-api-key']).toBe(ANTHROPIC_KEY);
  await stack.flushSpend();
  const row = (await stack.gateway.spend.list({ key_alias: 'claude-code-embedded' })).find((l) => l.headroom_status === 'compressed' && l.tokens_saved);
  expect(row?.tokens_saved).toBeGreaterThan(0);
});
