/**
 * The context of a tool output: the latest human request before it and the call that produced it
 * (name and arguments). It travels with the output to the compressor as protected rows, so the
 * compressor keeps what the question is about; and it is part of the output's memo key, because the
 * compressed bytes depend on it.
 *
 * The context is read from history that never changes (rows before the output), so it is fixed at
 * the turn the output first appears: later turns find the same context, the same memo key and the
 * same bytes. Outputs of a `headroom_retrieve` call are dropped here: they are originals the model
 * asked for, and compressing them again would loop.
 */
import { isRetrievalToolName } from './ccr';
import type { TextSlot } from './codec';
import { isObject } from './decision';
import { humanRequestText } from './human-text';

export interface ToolContext {
  /** The latest human request before the output (its last {@link MAX_QUESTION_CHARS} characters). */
  question?: string;
  /** The call that produced the output. `arguments` is JSON text, cut at {@link MAX_ARGUMENT_CHARS}. */
  call?: { name: string; arguments: string };
}

/** Client-chosen text is bounded: what a question or a call adds to a compress call stays small. */
export const MAX_QUESTION_CHARS = 4000;
export const MAX_ARGUMENT_CHARS = 2000;
const MAX_NAME_CHARS = 256;

type Row = Record<string, unknown>;

function boundedJson(value: unknown): string {
  if (typeof value === 'string') return value.slice(0, MAX_ARGUMENT_CHARS);
  try {
    return (JSON.stringify(value) ?? '').slice(0, MAX_ARGUMENT_CHARS);
  } catch {
    return '';
  }
}

/** A call the model made, as it sits in the body; read only for outputs that name it. */
type CallSource = { name: unknown; args: unknown };

/** Records calls (by id) and human requests (by row) of a chat `messages` array. */
function scanMessages(messages: unknown[], calls: Map<string, CallSource>, questions: Array<number | undefined>): void {
  let lastHuman: number | undefined;
  for (let i = 0; i < messages.length; i++) {
    questions.push(lastHuman);
    const m = messages[i];
    if (!isObject(m)) continue;
    if (m.role === 'assistant') {
      if (Array.isArray(m.tool_calls)) {
        for (const c of m.tool_calls) {
          if (isObject(c) && typeof c.id === 'string' && isObject(c.function)) calls.set(c.id, { name: c.function.name, args: c.function.arguments });
        }
      }
      if (Array.isArray(m.content)) {
        for (const b of m.content) if (isObject(b) && b.type === 'tool_use' && typeof b.id === 'string') calls.set(b.id, { name: b.name, args: b.input });
      }
    } else if (m.role === 'user' && humanRequestText(m.content) !== undefined) lastHuman = i;
  }
}

/** The same for a Responses `input` array: `*_call` items by `call_id`, user `message` items. */
function scanInput(input: unknown[], calls: Map<string, CallSource>, questions: Array<number | undefined>): void {
  let lastHuman: number | undefined;
  for (let i = 0; i < input.length; i++) {
    questions.push(lastHuman);
    const item = input[i];
    if (!isObject(item)) continue;
    const type = item.type;
    if (typeof type === 'string' && type.endsWith('_call') && typeof item.call_id === 'string') {
      calls.set(item.call_id, { name: item.name ?? type, args: item.arguments ?? item.input ?? item.action });
    } else if ((type === 'message' || type === undefined) && item.role === 'user' && humanRequestText(item.content) !== undefined) lastHuman = i;
  }
}

/**
 * Sets each slot's context and returns the slots that may be compressed: every slot but the output
 * of a `headroom_retrieve` call. The question's and the call's text are read only for slots.
 */
export function attachContext(body: Record<string, unknown>, slots: TextSlot[]): TextSlot[] {
  const rows = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : undefined;
  if (!rows || slots.length === 0) return slots;
  const calls = new Map<string, CallSource>();
  const questions: Array<number | undefined> = [];
  if (rows === body.messages) scanMessages(rows, calls, questions);
  else scanInput(rows, calls, questions);

  const kept: TextSlot[] = [];
  for (const slot of slots) {
    const source = slot.callId === undefined ? undefined : calls.get(slot.callId);
    if (source && isRetrievalToolName(source.name)) continue;
    if (slot.kind !== 'tool') {
      kept.push(slot);
      continue;
    }
    const context: ToolContext = {};
    const q = questions[slot.row];
    const question = q === undefined ? undefined : humanRequestText((rows[q] as Row).content);
    if (question !== undefined) context.question = question.length > MAX_QUESTION_CHARS ? question.slice(-MAX_QUESTION_CHARS) : question;
    if (source && typeof source.name === 'string') context.call = { name: source.name.slice(0, MAX_NAME_CHARS), arguments: boundedJson(source.args) };
    slot.context = context;
    kept.push(slot);
  }
  return kept;
}

/** The context as one string for the memo key: empty when there is none, so outputs without context keep their keys. */
export function contextKey(context: ToolContext | undefined): string {
  if (!context || (context.question === undefined && context.call === undefined)) return '';
  return JSON.stringify([context.question ?? null, context.call?.name ?? null, context.call?.arguments ?? null]);
}
