/**
 * The real Codex CLI (`codex exec`) retrieving a compressed original through the gateway's own MCP
 * server, configured as a user would, with no code of its own:
 *
 *   VIRTUAL_KEY=<virtual key> codex exec -c mcp_servers.headroom.url="<gateway>/mcp" \
 *     -c mcp_servers.headroom.bearer_token_env_var="VIRTUAL_KEY" "…"
 *
 * The gateway is Codex's model provider too (Responses wire API, the same virtual key; see
 * codex-runner.ts), in front of a scripted loopback Responses model. Codex (0.171) never lists an
 * MCP server's tools in `tools`: it defers them behind its `tool_search` tool, answers a search with
 * a `tool_search_output` item holding the matches as a `namespace` (`mcp__headroom`) of functions
 * (`headroom_retrieve`), and takes the call as a `function_call` with `namespace: 'mcp__headroom'`,
 * `name: 'headroom_retrieve'`. So the model, as a real one would:
 *  1. runs `cat orders.json` (`exec_command`): 220 orders, about 20 KB;
 *  2. on the `hash=` marker in the compressed `function_call_output` it received, searches the
 *     deferred tools for a retrieval tool;
 *  3. calls `headroom_retrieve {hash, query: 'refunded'}` in the `mcp__headroom` namespace, which
 *     Codex runs against the gateway's /mcp with the virtual key as its bearer token;
 *  4. answers with the refunded order ids it finds in that call's `function_call_output`.
 * The checks: Codex exits 0 and contacts nothing but loopback; the retrieved rows reach the model
 * verbatim (every refunded row, byte for byte what the MCP server answers, never sent to Headroom);
 * the `tools` Codex sends are the same on every turn (nothing injected, by Codex or the gateway).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { functionCallItem, messageItem, startResponsesUpstream, type ResponsesRequest, type ResponsesUpstream } from '../kit/responses-upstream';
import { CODEX, CODEX_MODEL, codexConfig, codexEvents, killCodex, runCodex, startTrapProxy } from './codex-runner';
import { toolRows } from '../kit/service-rows';
import { OPENAI_KEY, startGatewayStack, type GatewayStack } from './helpers';
import { QUESTION, REFUNDED_IDS, markerHash, mcpClient, mcpText, orders, ordersExport } from './retrieval-helpers';

/** How Codex exposes the gateway's tool to the model: a function in the server's namespace. */
const NAMESPACE = 'mcp__headroom';
const RETRIEVE = 'headroom_retrieve';
const CAT_CALL = 'call_cat_orders_0001';
const SEARCH_CALL = 'call_tool_search_0002';
const RETRIEVE_CALL = 'call_retrieve_0003';
const FINAL_PREFIX = 'CODEX-MCP-DONE refunded:';

jest.setTimeout(60_000);

// The CLI is a dev dependency: missing, the suite says so, and fails under CI rather than pass empty.
const haveCodex = existsSync(CODEX);
if (!haveCodex && process.env.CI) throw new Error(`the codex CLI is not installed at ${CODEX} (npm ci installs @openai/codex)`);
if (!haveCodex) test.skip(`codex CLI absent at ${CODEX} (npm ci): the MCP round trip is not tested here`, () => {});

/** The input items of a request that answer a call (`function_call_output`, `tool_search_output`…), by call_id. */
function answered(r: ResponsesRequest): Map<string, any> {
  const out = new Map<string, any>();
  for (const item of r.json?.input ?? []) if (typeof item?.type === 'string' && item.type.endsWith('_output') && item.call_id) out.set(item.call_id, item);
  return out;
}

/** A function_call_output's text: a string, or content items (MCP results may come as `input_text` parts). */
function outputText(item: any): string {
  if (typeof item?.output === 'string') return item.output;
  if (Array.isArray(item?.output)) return item.output.map((p: any) => p.text ?? '').join('');
  return '';
}

/** The function `name` in namespace `ns` among a tool_search_output's tools, if Codex offered it. */
function foundTool(search: any, ns: string, name: string): boolean {
  return (search?.tools ?? []).some((t: any) => t.type === 'namespace' && t.name === ns && (t.tools ?? []).some((f: any) => f.name === name));
}

/** The model: cat the export; on the marker, search for a retrieval tool; call it; answer with the refunded ids it got. */
function scriptModel(model: ResponsesUpstream): void {
  model.script = (r) => {
    const done = answered(r);
    const cat = done.get(CAT_CALL);
    if (!cat) return [functionCallItem('fc_codex_mcp_0001', CAT_CALL, 'exec_command', { cmd: 'cat orders.json', max_output_tokens: 20000 })];
    const hash = markerHash(outputText(cat));
    if (!hash) return [messageItem('msg_no_marker', 'NO-MARKER: the exec_command output arrived without a hash= marker')];
    const search = done.get(SEARCH_CALL);
    if (!search) {
      return [
        {
          type: 'tool_search_call',
          id: 'tsc_codex_mcp_0002',
          call_id: SEARCH_CALL,
          status: 'completed',
          execution: 'client',
          arguments: { query: 'retrieve compressed original hash', limit: 8 },
        },
      ];
    }
    if (!foundTool(search, NAMESPACE, RETRIEVE)) return [messageItem('msg_no_tool', `NO-TOOL: tool_search found no ${NAMESPACE}/${RETRIEVE}`)];
    const retrieved = done.get(RETRIEVE_CALL);
    if (!retrieved) return [{ ...functionCallItem('fc_codex_mcp_0003', RETRIEVE_CALL, RETRIEVE, { hash, query: 'refunded' }), namespace: NAMESPACE }];
    const ids = [...outputText(retrieved).matchAll(/"id":"(ord_\d+)"[^\n]*"status":"refunded"/g)].map((m) => m[1]);
    return [messageItem('msg_codex_mcp_0004', `${FINAL_PREFIX} ${ids.join(' ')}`)];
  };
}

const closers: Array<() => Promise<void>> = [];
const dirs: string[] = [];
afterAll(async () => {
  killCodex();
  for (const close of closers.reverse()) await close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

(haveCodex ? test.each : test.skip.each)(['embedded', 'service'] as const)(
  'codex exec retrieves the refunded rows through the gateway’s /mcp (deferred behind tool_search), compression %s; the retrieved rows go upstream as the MCP server sent them',
  async (compression) => {
    const model = await startResponsesUpstream();
    closers.push(() => model.close());
    scriptModel(model);
    // The embedded compressor (it reads past Codex's "Chunk ID: …\nOutput:\n" framing: the export is
    // JSON rows), or a Headroom service (the stand-in, writing Headroom's `hash=` markers).
    const stack: GatewayStack = await startGatewayStack({ compression, config: { openaiUpstream: model.url } });
    closers.push(() => stack.close());
    if (compression === 'service') stack.service!.mode = 'markers';
    const trap = await startTrapProxy();
    closers.push(() => trap.close());

    const { key } = await stack.generateKey({ key_alias: 'codex-mcp', guardrails: ['headroom-compression'], models: ['gpt-5*'] });
    const home = mkdtempSync(join(tmpdir(), 'codex-home-'));
    const work = mkdtempSync(join(tmpdir(), 'codex-work-'));
    dirs.push(home, work);
    writeFileSync(join(home, 'config.toml'), codexConfig(stack.url));
    const original = ordersExport();
    writeFileSync(join(work, 'orders.json'), original);

    const run = await runCodex({
      home,
      work,
      key,
      proxy: trap.url,
      prompt: `${QUESTION} The export is orders.json in the working directory.`,
      // The gateway's MCP server as a user adds it (`codex mcp add headroom --url … --bearer-token-env-var VIRTUAL_KEY`).
      args: ['-c', `mcp_servers.headroom.url="${stack.url}/mcp"`, '-c', 'mcp_servers.headroom.bearer_token_env_var="VIRTUAL_KEY"'],
      env: { VIRTUAL_KEY: key },
    });
    const turns = model.requests;
    const traffic = turns.map((r) => `${r.method} ${r.url} answered=${[...answered(r).keys()]}`).join('\n');
    expect({ code: run.code, signal: run.signal, stderr: run.stderr.slice(-4000), traffic }).toMatchObject({ code: 0, signal: null });

    // Four model turns through the gateway: the cat, the search, the retrieval, the answer (on a
    // failure, the model's last answer says what it missed: NO-MARKER, NO-TOOL).
    const lastAnswer = model.answers.at(-1)?.items.join('\n');
    expect({ paths: turns.map((r) => `${r.method} ${r.url}`), answered: turns.map((r) => [...answered(r).keys()]), lastAnswer }).toMatchObject({
      paths: Array(4).fill('POST /v1/responses'),
      answered: [[], [CAT_CALL], [CAT_CALL, SEARCH_CALL], [CAT_CALL, SEARCH_CALL, RETRIEVE_CALL]],
    });
    for (const r of turns) {
      expect(r.json.model).toBe(CODEX_MODEL);
      expect(r.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(r.raw.includes(key)).toBe(false);
    }
    // Nothing injected: Codex's own tools, the same on every turn. The MCP tool is not among them but
    // deferred behind tool_search, and offered only in the search's output, in the server's namespace.
    const tools = turns.map((r) => JSON.stringify(r.json.tools));
    expect(new Set(tools).size).toBe(1);
    expect(turns[0].json.tools.map((t: any) => t.name ?? t.type)).toEqual(expect.arrayContaining(['exec_command', 'tool_search']));
    expect(tools[0]).not.toContain(RETRIEVE);
    expect(foundTool(answered(turns[2]).get(SEARCH_CALL), NAMESPACE, RETRIEVE)).toBe(true);

    // Turn 2 got the export compressed, with the marker the model acted on.
    const compressed = outputText(answered(turns[1]).get(CAT_CALL));
    const hash = markerHash(compressed)!;
    expect(hash).toMatch(/^[0-9a-f]{24}$/);
    // The embedded compressor shows every refunded row (the question's), the stand-in only a head.
    expect(compressed.length).toBeLessThan(original.length / (compression === 'embedded' ? 3 : 10));

    // Codex ran the command and the MCP tool for real, with the model's arguments.
    const completed = codexEvents(run.stdout)
      .filter((e) => e.type === 'item.completed')
      .map((e) => e.item);
    expect(completed.filter((i) => i.type === 'command_execution').map((c) => [c.command, c.exit_code, c.aggregated_output])).toEqual([
      [expect.stringContaining('cat orders.json'), 0, original],
    ]);
    expect(completed.filter((i) => i.type === 'mcp_tool_call')).toEqual([
      expect.objectContaining({ server: 'headroom', tool: RETRIEVE, arguments: { hash, query: 'refunded' }, status: 'completed' }),
    ]);

    // Turn 4: the retrieved rows, verbatim: Codex's own timing part, then byte for byte what the
    // gateway's MCP server answers (not compressed again).
    const parts = answered(turns[3]).get(RETRIEVE_CALL).output;
    expect(parts.map((p: any) => p.type)).toEqual(['input_text', 'input_text']);
    expect(parts[0].text).toMatch(/^Wall time: [\d.]+ seconds\nOutput:$/);
    const retrieved: string = parts[1].text;
    for (const o of orders().filter((x) => x.status === 'refunded')) expect(retrieved).toContain(JSON.stringify(o));
    const client = await mcpClient(stack.url, key);
    try {
      expect(retrieved).toBe(mcpText(await client.callTool({ name: RETRIEVE, arguments: { hash, query: 'refunded' } })));
    } finally {
      await client.close();
    }
    // Headroom was asked about exactly one output, once: the export (whole, in Codex's framing); never
    // about the retrieved rows, which are long enough to be (over 200 characters).
    expect(retrieved.length).toBeGreaterThan(1500);
    if (compression === 'service') {
      const asked = stack.service!.calls.flatMap((c) => toolRows(c).map((m: any) => m.content));
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain(original);
    }
    await stack.flushSpend();
    const rows = await stack.gateway.spend.list({ key_alias: 'codex-mcp' });
    expect(rows.map((r) => [r.path, r.status])).toEqual(Array(4).fill(['/v1/responses', 200]));
    expect(rows.reduce((n, r) => n + (r.headroom?.partsSent ?? 0), 0)).toBe(1);

    // The model's answer, printed by Codex: every refunded order, found in what it retrieved.
    expect(completed.filter((i) => i.type === 'agent_message').map((i) => i.text)).toEqual([`${FINAL_PREFIX} ${REFUNDED_IDS.join(' ')}`]);

    // Nothing but loopback: no update check, analytics, plugin or connector traffic; the example's
    // own upstream stand-in (Anthropic) never asked.
    expect(trap.attempts).toEqual([]);
    expect(stack.upstream.requests).toEqual([]);
  },
);
