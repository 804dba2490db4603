/**
 * What the gateway's retrieval suites share: an orders export (a big JSON tool output with a few
 * refunded rows), an Anthropic tool turn carrying it, the `hash=` marker the upstream received, and
 * an MCP client built on the official SDK with a virtual key in its Authorization header.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { StandInRequest } from '../../examples/gateway/upstream-standin';
import { post, type GatewayStack } from './helpers';

export const QUESTION = 'Which orders were refunded?';

export interface Order {
  id: string;
  customer: string;
  status: 'refunded' | 'pending' | 'shipped';
  total_cents: number;
  region: string;
}

/** `n` orders, every 7th refunded; ids `ord_1000`… so a test can name the refunded ones verbatim. */
export function orders(n = 220): Order[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `ord_${1000 + i}`,
    customer: `cust_${(i * 7) % 97}`,
    status: i % 7 === 5 ? 'refunded' : i % 5 === 0 ? 'pending' : 'shipped',
    total_cents: 1000 + ((i * 137) % 9000),
    region: ['eu', 'us', 'ap'][i % 3],
  }));
}

/** The export as a tool prints it: a JSON array, one order a line (about 20 KB for 220 rows). */
export function ordersExport(rows: Order[] = orders()): string {
  return `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]`;
}

export const REFUNDED_IDS = orders()
  .filter((o) => o.status === 'refunded')
  .map((o) => o.id);

/** An Anthropic request whose last turn is the export as a tool_result, after the question. */
export function ordersTurn(output = ordersExport(), extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    model: 'claude-sonnet-4-6',
    max_tokens: 512,
    messages: [
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_orders', name: 'Bash', input: { command: 'cat orders.json' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_orders', content: output }] },
    ],
  };
}

/** The text of the first tool_result block in an upstream request. */
export function toolResultText(r: StandInRequest): string {
  for (const m of r.json.messages) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content) if (b.type === 'tool_result') return typeof b.content === 'string' ? b.content : b.content.map((p: any) => p.text ?? '').join('');
  }
  throw new Error('no tool_result in the request');
}

export function markerHash(text: string): string | undefined {
  return /hash=([0-9a-f]{24})(?![0-9a-f])/.exec(text)?.[1];
}

/** Sends the orders turn with `key` through the gateway (`extra`: more body fields, e.g. an opt-in); returns the marker hash the upstream received. */
export async function compressOrders(stack: GatewayStack, key: string, output = ordersExport(), extra: Record<string, unknown> = {}): Promise<string> {
  const before = stack.upstream.requests.length;
  const r = await post(`${stack.url}/v1/messages`, ordersTurn(output, extra), { authorization: `Bearer ${key}` });
  if (r.status !== 200) throw new Error(`/v1/messages answered ${r.status}: ${r.text}`);
  const sent = toolResultText(stack.upstream.requests[before]);
  const hash = markerHash(sent);
  if (!hash) throw new Error(`the upstream got no hash= marker (${sent.length} chars)`);
  return hash;
}

/** GET /v1/retrieve/:hash (with `?query=` when given) with `key`; status and raw body. */
export async function getRetrieve(url: string, hash: string, key?: string, query?: string): Promise<{ status: number; text: string }> {
  const qs = query === undefined ? '' : `?query=${encodeURIComponent(query)}`;
  const res = await fetch(`${url}/v1/retrieve/${hash}${qs}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, text: await res.text() };
}

/** POST /v1/retrieve {hash, query?} with `key`. */
export async function postRetrieve(url: string, body: { hash: string; query?: string }, key?: string): Promise<{ status: number; text: string; json: any }> {
  const r = await post(`${url}/v1/retrieve`, body, key ? { authorization: `Bearer ${key}` } : {});
  return { status: r.status, text: r.text, json: r.json };
}

/** An MCP client of the gateway's `/mcp`, authenticated with `key` as Claude Code's `--header` would. */
export async function mcpClient(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'gateway-retrieval-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

export const mcpText = (result: any): string => result.content.map((c: any) => c.text).join('');
