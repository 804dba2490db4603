/**
 * Sessions for replay: the shared fixtures turned into turn sequences, and generated agent
 * sessions of any length in Anthropic and OpenAI shape (tool loops over JSON, logs and listings).
 *
 * The generated sessions also say, by construction, where every tool output sits in each turn's
 * body and what its text is (`*SessionRecorded`), and {@link diffJson} compares two bodies leaf by
 * leaf: together an oracle for "only the tool outputs changed" that uses no code under test.
 */
import { clone, openaiAgent } from './fixtures';

/** Where a value sits in a JSON document: object keys and array indexes from the root. */
export type JsonPath = Array<string | number>;

/** A tool output as the generator wrote it: its place in the body and its text. */
export interface ToolOutput {
  path: JsonPath;
  text: string;
}

/** A generated session and, per turn, the tool outputs its body holds (recorded while generating). */
export interface RecordedSession {
  turns: any[];
  /** `toolOutputs[k]`: every tool output in `turns[k]`, oldest first. */
  toolOutputs: ToolOutput[][];
}

/** The value at `path`, or undefined when the path leads nowhere. */
export function valueAt(doc: unknown, path: JsonPath): unknown {
  let v: any = doc;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[k];
  }
  return v;
}

/** What differs between two JSON documents: strings that changed, and anything else (shape, keys, numbers...). */
export interface JsonDiff {
  /** Paths of string leaves present in both whose text differs. */
  changedStrings: JsonPath[];
  /** Every other difference, one line each (e.g. `messages.3.role: "tool" → object`). */
  other: string[];
}

/** Compares `a` and `b` leaf by leaf, independently of any request codec. */
export function diffJson(a: unknown, b: unknown): JsonDiff {
  const out: JsonDiff = { changedStrings: [], other: [] };
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const walk = (x: any, y: any, path: JsonPath) => {
    const where = path.join('.') || '(root)';
    const kx = kind(x);
    const ky = kind(y);
    if (kx !== ky) return void out.other.push(`${where}: ${kx} → ${ky}`);
    if (kx === 'string') {
      if (x !== y) out.changedStrings.push(path);
      return;
    }
    if (kx === 'array') {
      if (x.length !== y.length) out.other.push(`${where}: length ${x.length} → ${y.length}`);
      for (let i = 0; i < Math.min(x.length, y.length); i++) walk(x[i], y[i], [...path, i]);
      return;
    }
    if (kx === 'object') {
      const kxs = Object.keys(x);
      const kys = Object.keys(y);
      if (kxs.join('\0') !== kys.join('\0')) out.other.push(`${where}: keys [${kxs.join(',')}] → [${kys.join(',')}]`);
      for (const k of kxs) if (Object.prototype.hasOwnProperty.call(y, k)) walk(x[k], y[k], [...path, k]);
      return;
    }
    if (!Object.is(x, y)) out.other.push(`${where}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
  };
  walk(a, b, []);
  return out;
}

/**
 * Where the tool outputs of {@link claudeTurns} sit, read off the fixture files by hand
 * (`__tests__/fixtures/claude-code-session/turn-N.json`): turn 1 has none, each later turn adds one
 * `tool_result` block, the first block of user rows 3, 5 and 7.
 */
export const CLAUDE_TURN_TOOL_PATHS: JsonPath[][] = [
  [],
  [['messages', 3, 'content', 0, 'content']],
  [
    ['messages', 3, 'content', 0, 'content'],
    ['messages', 5, 'content', 0, 'content'],
  ],
  [
    ['messages', 3, 'content', 0, 'content'],
    ['messages', 5, 'content', 0, 'content'],
    ['messages', 7, 'content', 0, 'content'],
  ],
];

/** Where the tool outputs of {@link openaiTurns} sit: the fixture's `role: "tool"` rows 3 and 5 (`openai-agent/request.json`). */
export const OPENAI_TURN_TOOL_PATHS: JsonPath[][] = [
  [],
  [['messages', 3, 'content']],
  [
    ['messages', 3, 'content'],
    ['messages', 5, 'content'],
  ],
  [
    ['messages', 3, 'content'],
    ['messages', 5, 'content'],
  ],
];

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
  const rows = Array.from({ length: 60 }, (_, i) => ({
    id: turn * 1000 + i,
    status: i % 17 === 0 ? 'failed' : 'ok',
    region: ['eu', 'us', 'ap'][i % 3],
    latency_ms: 20 + ((i * 37) % 300),
  }));
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
  return anthropicSessionRecorded(turns).turns;
}

/** {@link anthropicSession} with the place and text of every tool output in each turn. */
export function anthropicSessionRecorded(turns: number): RecordedSession {
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
  const outputs: ToolOutput[][] = [];
  const written: ToolOutput[] = [];
  for (let t = 1; t <= turns; t++) {
    const req = clone({ ...base, messages });
    // The breakpoint sits on the newest block of the last message, as Claude Code does.
    const last = req.messages[req.messages.length - 1];
    last.content[last.content.length - 1].cache_control = { type: 'ephemeral' };
    out.push(req);
    outputs.push(written.slice());
    messages.push({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: `Turn ${t}: next I will look at output ${t}.`, signature: `sig${t}`.padEnd(48, 'A') },
        { type: 'tool_use', id: `toolu_${t}`, name: 'Bash', input: { command: `step ${t}` } },
      ],
    });
    const text = toolOutput(t);
    written.push({ path: ['messages', messages.length, 'content', 0, 'content'], text });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${t}`, content: text, ...(t % 5 === 0 ? { is_error: true } : {}) }] });
  }
  return { turns: out, toolOutputs: outputs };
}

/** An OpenAI agent session: tool_calls and role "tool" rows, text parts on some turns. */
export function openaiSession(turns: number): any[] {
  return openaiSessionRecorded(turns).turns;
}

/** {@link openaiSession} with the place and text of every tool output in each turn. */
export function openaiSessionRecorded(turns: number): RecordedSession {
  const messages: any[] = [
    { role: 'system', content: 'You are an agent.' },
    { role: 'user', content: 'Investigate the failing batches — naïve café ✓.' },
  ];
  const out: any[] = [];
  const outputs: ToolOutput[][] = [];
  const written: ToolOutput[] = [];
  for (let t = 1; t <= turns; t++) {
    out.push(clone({ model: 'gpt-4o', messages, tools: [{ type: 'function', function: { name: 'run', parameters: { type: 'object' } } }] }));
    outputs.push(written.slice());
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${t}`, type: 'function', function: { name: 'run', arguments: `{"step":${t}}` } }] });
    const text = toolOutput(t);
    const asParts = t % 4 === 0;
    written.push({ path: asParts ? ['messages', messages.length, 'content', 0, 'text'] : ['messages', messages.length, 'content'], text });
    messages.push({ role: 'tool', tool_call_id: `call_${t}`, content: asParts ? [{ type: 'text', text }] : text });
  }
  return { turns: out, toolOutputs: outputs };
}
