/**
 * Sessions for replay: the shared fixtures turned into turn sequences, and generated agent
 * sessions of any length in Anthropic and OpenAI shape (tool loops over JSON, logs and listings).
 */
import { clone, openaiAgent } from './fixtures';

/** Deep copy without `cache_control` keys: the breakpoint moves every turn by design. */
export function withoutCacheControl<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (k, val) => (k === 'cache_control' ? undefined : val)));
}

/** The OpenAI agent request grown turn by turn: each prefix ending where the client would send. */
export function openaiTurns(): any[] {
  const body = openaiAgent().body;
  const cuts = [2, 4, 6, 7];
  return cuts.map((n) => ({ ...clone(body), messages: clone(body.messages.slice(0, n)) }));
}

function jsonOutput(turn: number): string {
  const rows = Array.from({ length: 60 }, (_, i) => ({ id: turn * 1000 + i, status: i % 17 === 0 ? 'failed' : 'ok', region: ['eu', 'us', 'ap'][i % 3], latency_ms: 20 + ((i * 37) % 300) }));
  return JSON.stringify({ turn, rows }, null, 2);
}
function logOutput(turn: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) lines.push(`2026-11-27T10:${String(i % 60).padStart(2, '0')}:00Z INFO worker-${i % 4} processed batch ${turn}-${i} in ${i % 50}ms`);
  lines.splice(57, 0, `2026-11-27T10:57:30Z ERROR worker-2 batch ${turn}-57 failed: connection reset`);
  return lines.join('\n');
}
function listingOutput(turn: number): string {
  const lines: string[] = [];
  for (let f = 0; f < 12; f++) for (let l = 0; l < 8; l++) lines.push(`src/module${f}/file${turn}.ts:${l * 13 + 1}:  const value${l} = compute(${f}, ${l}); // turn ${turn}`);
  return lines.join('\n');
}
export function toolOutput(turn: number): string {
  return [jsonOutput, logOutput, listingOutput][turn % 3](turn);
}

/** A Claude Code shaped session: system blocks, thinking with signatures, a tool loop, a moving cache_control breakpoint. */
export function anthropicSession(turns: number): any[] {
  const base = {
    model: 'claude-sonnet-4-5',
    max_tokens: 8192,
    stream: true,
    system: [
      { type: 'text', text: 'You are an agent.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Use tools carefully.'.repeat(20), cache_control: { type: 'ephemeral' } },
    ],
    tools: [{ name: 'Bash', description: 'run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }],
    metadata: { user_id: 'user_abc' },
    thinking: { type: 'enabled', budget_tokens: 4000 },
  };
  const messages: any[] = [{ role: 'user', content: [{ type: 'text', text: 'Investigate the failing batches.' }] }];
  const out: any[] = [];
  for (let t = 1; t <= turns; t++) {
    const req = clone({ ...base, messages });
    // The breakpoint sits on the newest block of the last message, as Claude Code does.
    const last = req.messages[req.messages.length - 1];
    last.content[last.content.length - 1].cache_control = { type: 'ephemeral' };
    out.push(req);
    messages.push({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: `Turn ${t}: next I will look at output ${t}.`, signature: `sig${t}`.padEnd(48, 'A') },
        { type: 'tool_use', id: `toolu_${t}`, name: 'Bash', input: { command: `step ${t}` } },
      ],
    });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${t}`, content: toolOutput(t), ...(t % 5 === 0 ? { is_error: true } : {}) }] });
  }
  return out;
}

/** An OpenAI agent session: tool_calls and role "tool" rows, text parts on some turns. */
export function openaiSession(turns: number): any[] {
  const messages: any[] = [
    { role: 'system', content: 'You are an agent.' },
    { role: 'user', content: 'Investigate the failing batches — naïve café ✓.' },
  ];
  const out: any[] = [];
  for (let t = 1; t <= turns; t++) {
    out.push(clone({ model: 'gpt-4o', messages, tools: [{ type: 'function', function: { name: 'run', parameters: { type: 'object' } } }] }));
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'run', arguments: `{"step":${t}}` } }] });
    const text = toolOutput(t);
    messages.push({ role: 'tool', tool_call_id: `call_${t}`, content: t % 4 === 0 ? [{ type: 'text', text }] : text });
  }
  return out;
}
