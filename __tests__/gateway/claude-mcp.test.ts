/**
 * Claude Code itself retrieving a compressed original through the gateway's own MCP server:
 *
 *   claude -p "…" --mcp-config '{"mcpServers":{"headroom":{"type":"http","url":"<gateway>/mcp",
 *     "headers":{"Authorization":"Bearer <virtual key>"}}}}' --allowedTools "Bash mcp__headroom__headroom_retrieve"
 *
 * The upstream is scripted like a model: turn 1 runs `cat orders.json` (220 orders, about 20 KB);
 * turn 2, on the `hash=` marker in the compressed tool_result it received, calls
 * `mcp__headroom__headroom_retrieve {hash, query: 'refunded'}`, which the CLI runs against the
 * gateway's /mcp; turn 3 checks that tool_result (the refunded rows verbatim, exactly what the MCP
 * server answered: not compressed again) and answers. The `tools` the CLI sends never change.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StandInRequest } from '../../examples/gateway/upstream-standin';
import { CLAUDE, runClaude, type ClaudeRun } from './claude-runner';
import { startGatewayStack, type GatewayStack } from './helpers';
import { QUESTION, REFUNDED_IDS, markerHash, mcpClient, mcpText, orders, ordersExport } from './retrieval-helpers';

const RETRIEVE = 'mcp__headroom__headroom_retrieve';
const BASH_ID = 'toolu_mcp_bash_0001';
const RETRIEVE_ID = 'toolu_mcp_retrieve_0001';
const FINAL = `FINAL-ANSWER: ${REFUNDED_IDS.length} orders were refunded.`;

jest.setTimeout(90_000);

// The CLI is a dev dependency: missing, the suite says so, and fails under CI rather than pass empty.
const haveClaude = existsSync(CLAUDE);
if (!haveClaude && process.env.CI) throw new Error(`the claude CLI is not installed at ${CLAUDE} (npm ci installs @anthropic-ai/claude-code)`);
if (!haveClaude) test.skip(`claude CLI absent at ${CLAUDE} (npm ci): the MCP round trip is not tested here`, () => {});

/** Each tool_result of a request, by tool_use_id, as text. */
function toolResults(r: StandInRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of r.json?.messages ?? []) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content) {
      if (b.type !== 'tool_result') continue;
      out.set(b.tool_use_id, typeof b.content === 'string' ? b.content : b.content.map((p: any) => p.text ?? '').join(''));
    }
  }
  return out;
}

const isAgentTurn = (r: StandInRequest) => r.path === '/v1/messages' && (r.json?.tools ?? []).some((t: any) => t.name === 'Bash');

/** The model: Bash, then the retrieve tool on the marker it sees, then an answer. Other calls (titles) get a short text. */
function scriptUpstream(stack: GatewayStack): void {
  stack.upstream.script = (r) => {
    if (!isAgentTurn(r)) return { text: 'Refunded orders' };
    const results = toolResults(r);
    if (results.has(RETRIEVE_ID)) return { text: FINAL };
    const bash = results.get(BASH_ID);
    if (bash === undefined) return { toolUse: { id: BASH_ID, name: 'Bash', input: { command: 'cat orders.json', description: 'Print the orders export' } } };
    const hash = markerHash(bash);
    if (!hash) return { text: 'NO-MARKER: the tool output arrived without a hash= marker' };
    return { toolUse: { id: RETRIEVE_ID, name: RETRIEVE, input: { hash, query: 'refunded' } } };
  };
}

/** The CLI with the gateway's MCP server configured (`--mcp-config`, the virtual key as its bearer token), in `work`. */
function runClaudeWithMcp(stack: GatewayStack, key: string, work: string): Promise<ClaudeRun> {
  return runClaude({
    args: ['-p', `${QUESTION} Read orders.json with Bash.`, '--strict-mcp-config', '--allowedTools', `Bash ${RETRIEVE}`],
    baseUrl: stack.url,
    token: key,
    cwd: work,
    setup: (home) => {
      const mcpConfig = join(home, 'mcp.json');
      writeFileSync(mcpConfig, JSON.stringify({ mcpServers: { headroom: { type: 'http', url: `${stack.url}/mcp`, headers: { Authorization: `Bearer ${key}` } } } }));
      return ['--mcp-config', mcpConfig];
    },
  });
}

let stack: GatewayStack | undefined;
let work: string | undefined;
afterEach(async () => {
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  stack = work = undefined;
});

(haveClaude ? test : test.skip)('claude -p retrieves the refunded rows through the gateway’s /mcp; the retrieved rows go upstream as the MCP server sent them', async () => {
  stack = await startGatewayStack({ compression: 'embedded' });
  scriptUpstream(stack);
  const { key } = await stack.generateKey({ key_alias: 'claude-mcp', guardrails: ['headroom-compression'], models: ['claude-*'] });
  work = mkdtempSync(join(tmpdir(), 'claude-work-'));
  const original = ordersExport();
  writeFileSync(join(work, 'orders.json'), original);

  const run = await runClaudeWithMcp(stack, key, work);
  const traffic = stack.upstream.requests.map((r) => `${r.method} ${r.path} tools=${r.json?.tools?.length ?? 0} results=${[...toolResults(r).keys()]}`).join('\n');
  expect({ code: run.code, stderr: run.stderr, traffic }).toMatchObject({ code: 0 });
  expect(run.stdout).toContain(FINAL);

  const turns = stack.upstream.requests.filter(isAgentTurn);
  expect(turns.map((r) => [...toolResults(r).keys()])).toEqual([[], [BASH_ID], [BASH_ID, RETRIEVE_ID]]);
  // Nothing injected: the CLI's own tools, the gateway's MCP tool among them, the same on every turn.
  const tools = turns.map((r) => JSON.stringify(r.json.tools));
  expect(new Set(tools).size).toBe(1);
  expect(turns[0].json.tools.map((t: any) => t.name)).toContain(RETRIEVE);

  // Turn 2 got the export compressed, with the marker the model acted on.
  const compressed = toolResults(turns[1]).get(BASH_ID)!;
  const hash = markerHash(compressed)!;
  expect(compressed.length).toBeLessThan(original.length / 3);

  // Turn 3: the retrieved rows, verbatim, byte for byte what the gateway's MCP server answers.
  const retrieved = toolResults(turns[2]).get(RETRIEVE_ID)!;
  for (const o of orders().filter((x) => x.status === 'refunded')) expect(retrieved).toContain(JSON.stringify(o));
  const client = await mcpClient(stack.url, key);
  try {
    expect(retrieved).toBe(mcpText(await client.callTool({ name: 'headroom_retrieve', arguments: { hash, query: 'refunded' } })));
  } finally {
    await client.close();
  }
  // Large enough to be compressed (minTokens 500 ≈ 1,500 characters), yet never sent to the compressor:
  // of every request of the session, only turn 2's Bash output was; turn 3 replayed it from the memo.
  expect(retrieved.length).toBeGreaterThan(1500);
  await stack.flushSpend();
  const rows = await stack.gateway.spend.list({ key_alias: 'claude-mcp' });
  expect(rows.reduce((n, r) => n + (r.headroom?.partsSent ?? 0), 0)).toBe(1);
  expect(rows.some((r) => (r.headroom?.memoHits ?? 0) > 0 && r.headroom!.partsSent === 0)).toBe(true);

  expect(stack.upstream.requests.filter((r) => r.path.includes('mcp') || r.path.includes('retrieve'))).toEqual([]);
  for (const r of stack.upstream.requests) expect(r.raw.includes(key)).toBe(false);
});
