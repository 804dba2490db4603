/**
 * The message codec: finds the text the middleware may compress in OpenAI and Anthropic request
 * bodies, and writes compressed text back into exactly those places and nowhere else.
 *
 * What may change (by default): tool output, i.e. OpenAI `role: "tool"` content (a string or text
 * parts) and Anthropic `tool_result` content (a string or text blocks). Human text only with
 * `compressUserMessages`, never the live (last) user turn. Never: system/developer rows, assistant
 * rows, images, documents, ids, `cache_control`, signatures, `is_error`, or anything outside
 * `messages`. Because a slot only ever replaces one string with another, every other byte of the
 * body is preserved by construction.
 */

import { findResponsesSlots } from './codec-responses';
import type { ToolContext } from './context';
import { isObject } from './decision';

export type SlotKind = 'tool' | 'user';

/** One compressible string: `container[field]` is the text. */
export interface TextSlot {
  container: Record<string, unknown>;
  field: 'content' | 'text' | 'output';
  text: string;
  kind: SlotKind;
  /** Index of the message row it lives in. */
  row: number;
  /** After the last assistant row: the model has not read it yet, so changing it is cache-safe. */
  isNew: boolean;
  /** Tool output: the id of the call that produced it (`tool_call_id`, `tool_use_id`, `call_id`), when it is a string. */
  callId?: string;
  /** The output's context (the human request before it, the call that produced it), set by `context.ts`. */
  context?: ToolContext;
}

function idOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `[{type:'text', text}]` parts of an array: the only array members ever touched. */
function pushTextParts(parts: unknown[], kind: SlotKind, row: number, isNew: boolean, out: TextSlot[], callId?: string) {
  for (const part of parts) {
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') {
      out.push({ container: part, field: 'text', text: part.text, kind, row, isNew, callId });
    }
  }
}

/** All compressible slots of `messages`, in document order. Unknown shapes are skipped, never guessed. */
export function findSlots(messages: unknown[], compressUserMessages: boolean): TextSlot[] {
  let lastAssistant = -1;
  let lastUser = -1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) continue;
    if (m.role === 'assistant') lastAssistant = i;
    else if (m.role === 'user') lastUser = i;
  }
  const out: TextSlot[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) continue;
    const isNew = i > lastAssistant;
    const content = m.content;
    if (m.role === 'tool') {
      const callId = idOf(m.tool_call_id);
      if (typeof content === 'string') out.push({ container: m, field: 'content', text: content, kind: 'tool', row: i, isNew, callId });
      else if (Array.isArray(content)) pushTextParts(content, 'tool', i, isNew, out, callId);
    } else if (m.role === 'user') {
      const userTextAllowed = compressUserMessages && i !== lastUser;
      if (typeof content === 'string') {
        if (userTextAllowed) out.push({ container: m, field: 'content', text: content, kind: 'user', row: i, isNew });
      } else if (Array.isArray(content)) {
        for (const block of content) {
          if (!isObject(block)) continue;
          if (block.type === 'tool_result') {
            const inner = block.content;
            const callId = idOf(block.tool_use_id);
            if (typeof inner === 'string') out.push({ container: block, field: 'content', text: inner, kind: 'tool', row: i, isNew, callId });
            else if (Array.isArray(inner)) pushTextParts(inner, 'tool', i, isNew, out, callId);
          } else if (userTextAllowed && block.type === 'text' && typeof block.text === 'string') {
            out.push({ container: block, field: 'text', text: block.text, kind: 'user', row: i, isNew });
          }
        }
      }
    }
  }
  return out;
}

/** The rows a request carries: `messages` (chat completions, Anthropic messages) or a Responses `input` array. */
export function hasRows(body: Record<string, unknown>): boolean {
  return Array.isArray(body.messages) || Array.isArray(body.input);
}

/** The compressible slots of any request body the middleware handles. */
export function findRequestSlots(body: Record<string, unknown>, compressUserMessages: boolean): TextSlot[] {
  if (Array.isArray(body.messages)) return findSlots(body.messages, compressUserMessages);
  if (Array.isArray(body.input)) return findResponsesSlots(body.input, typeof body.previous_response_id === 'string');
  return [];
}

export type ServiceMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: null; tool_calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> }
  | { role: 'tool'; tool_call_id: string; content: string };

/**
 * The rows sent to `/v1/compress` for these slots, OpenAI shape. A tool output goes with its
 * context as protected rows before it: the human request (once for consecutive outputs that share
 * it) and the assistant call that produced it, so the service sees the question and the tool name
 * too. Only the rows at `taken` (one per slot, in slot order) are compressed text to take back.
 *
 * A compressor reads an output's question as the latest user row before it, so the order is chosen
 * to leave no output with a question that is not its own: outputs without a question first, then
 * those with one, then human text (user rows) last, where no output follows it.
 */
export function toServiceMessages(slots: TextSlot[]): { messages: ServiceMessage[]; taken: number[] } {
  const messages: ServiceMessage[] = [];
  const taken: number[] = new Array(slots.length);
  const order = slots.map((s, i) => i);
  const rank = (s: TextSlot) => (s.kind !== 'tool' ? 2 : s.context?.question === undefined ? 0 : 1);
  order.sort((a, b) => rank(slots[a]) - rank(slots[b]) || a - b);
  let lastQuestion: string | undefined;
  for (const i of order) {
    const s = slots[i];
    if (s.kind !== 'tool') {
      taken[i] = messages.push({ role: 'user', content: s.text }) - 1;
      continue;
    }
    const id = `headroom_${i}`;
    const question = s.context?.question;
    if (question !== undefined && question !== lastQuestion) messages.push({ role: 'user', content: question });
    lastQuestion = question;
    const call = s.context?.call;
    if (call) messages.push({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: call.name, arguments: call.arguments } }] });
    taken[i] = messages.push({ role: 'tool', tool_call_id: id, content: s.text }) - 1;
  }
  return { messages, taken };
}

/**
 * The text a service row carries, if the row is still the row we sent (same role) and its content
 * is text. Anything else (a changed role, an image, an object) means the service changed more than
 * text: the caller keeps the original.
 */
export function textOfServiceRow(row: unknown, sentRole: string): string | undefined {
  if (!isObject(row) || row.role !== sentRole) return undefined;
  const c = row.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c) && c.length > 0 && c.every((p) => isObject(p) && p.type === 'text' && typeof p.text === 'string')) {
    return c.map((p) => (p as { text: string }).text).join('');
  }
  return undefined;
}

/** Writes `text` into the slot's place. The only mutation the middleware makes to messages. */
export function writeSlot(slot: TextSlot, text: string): void {
  slot.container[slot.field] = text;
}

/**
 * Fast token estimate for `minTokens`: UTF-16 length / 3. Tool output (JSON, listings, logs)
 * tokenises at about 2.9–3.4 characters per o200k token; on the repository's fixtures this lands
 * within 15% of gpt-tokenizer's o200k count (measured in __tests__/unit/codec.test.ts), and costs no
 * tokenizer on the hot path. Prose runs about 4 characters per token, so it over-estimates prose.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}
