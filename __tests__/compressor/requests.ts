/** Builders for question-aware tests: requests in both shapes and generated tool outputs (not a test file). */
import type { CompressRequest } from '../../lib/contract';
import { rng } from '../../examples/gateway/session';

/** A human question, the assistant's call, and the tool row answering it (OpenAI shape). */
export function openAiRequest(question: string, toolName: string, args: object, output: string): CompressRequest {
  return {
    model: 'gpt-4o',
    config: { protect_recent: 0 },
    messages: [
      { role: 'user', content: question },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: toolName, arguments: JSON.stringify(args) } }] },
      { role: 'tool', tool_call_id: 'call_1', content: output },
    ],
  };
}

/** The same in Anthropic shape (as Claude Code sends it: a system reminder before the question). */
export function anthropicRequest(question: string, toolName: string, input: object, output: string): CompressRequest {
  return {
    model: 'claude-opus-4-8',
    config: { protect_recent: 0 },
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nAs you answer, use the tools. Refunded p1 T-1 ERR_CONN_RESET\n</system-reminder>' },
          { type: 'text', text: question },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'toolu_1', name: toolName, input },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: output }] },
    ],
  };
}

/** The tool output's compressed text from a response of either builder (its last row). */
export function compressedOutput(response: { messages: { content?: unknown }[] }): string {
  const content = response.messages[response.messages.length - 1].content;
  if (typeof content === 'string') return content;
  const block = (content as { content: string }[])[0];
  return block.content;
}

/** A tiny deterministic PRNG (mulberry32), so generated outputs depend on a seed only: the one the example gateway's session generator uses. */
export const random = rng;

const TITLES = ['Checkout slow', 'Login loop on Safari', 'Invoice PDF blank', 'Search returns stale results', 'Webhook retries', 'Export times out'];
const PEOPLE = ['ana', 'bo', 'chen', 'dee', 'eli', 'fay', 'gus'];

/** 200 tickets; `p1` at exactly the given rows, `p2`–`p4` elsewhere. */
export function tickets(p1Rows: ReadonlySet<number>, seed: number): { id: string; priority: string; status: string; title: string; assignee: string; created: string }[] {
  const rnd = random(seed);
  return Array.from({ length: 200 }, (_, i) => ({
    id: `T-${5000 + i}`,
    priority: p1Rows.has(i) ? 'p1' : `p${2 + Math.floor(rnd() * 3)}`,
    status: rnd() < 0.6 ? 'open' : 'closed',
    title: TITLES[Math.floor(rnd() * TITLES.length)],
    assignee: PEOPLE[Math.floor(rnd() * PEOPLE.length)],
    created: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`,
  }));
}

/** 200 orders; `refunded` at exactly the given rows, `paid`/`pending`/`shipped` elsewhere. */
export function orders(refundedRows: ReadonlySet<number>, seed: number): object[] {
  const rnd = random(seed);
  const statuses = ['paid', 'pending', 'shipped'];
  return Array.from({ length: 200 }, (_, i) => ({
    order_id: 10_000 + i,
    customer: { id: `acct_${100 + Math.floor(rnd() * 40)}`, tier: rnd() < 0.5 ? 'gold' : 'silver' },
    total_cents: 1000 + Math.floor(rnd() * 9000),
    currency: 'EUR',
    status: refundedRows.has(i) ? 'refunded' : statuses[Math.floor(rnd() * statuses.length)],
  }));
}

/**
 * A proxy log of 1,200 lines: INFO request lines, and plain (not ERROR-level) `upstream closed` lines
 * with a connection error code, `ERR_CONN_RESET` at exactly the given request numbers.
 */
export function proxyLog(resetAt: ReadonlySet<number>, seed: number): string {
  const rnd = random(seed);
  const lines: string[] = [];
  for (let i = 0; i < 1200; i++) {
    const ts = `2026-11-26T10:${String(Math.floor(i / 20) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`;
    const peer = `10.0.${Math.floor(rnd() * 4)}.${1 + Math.floor(rnd() * 200)}:5432`;
    if (resetAt.has(i)) lines.push(`${ts} INFO  proxy[7] upstream closed code=ERR_CONN_RESET peer=${peer} req=${i}`);
    else if (i % 7 === 3) lines.push(`${ts} INFO  proxy[7] upstream closed code=ERR_CONN_CLOSED peer=${peer} req=${i}`);
    else lines.push(`${ts} INFO  proxy[7] GET /api/items/${Math.floor(rnd() * 900)} 200 ${3 + Math.floor(rnd() * 40)}ms req=${i}`);
  }
  return lines.join('\n');
}
