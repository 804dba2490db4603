/**
 * The Responses API half of the message codec (`POST /v1/responses`, what the Codex CLI, the OpenAI
 * Agents SDK and `client.responses` send): finds the tool output in `input` items and nothing else.
 *
 * What may change, and why each:
 * - `function_call_output.output`: a function tool's result (Codex's `exec_command` output), a string
 *   or an array of `input_text` / `output_text` parts (only their `text` changes);
 * - `custom_tool_call_output.output`: a custom (free-form) tool's result, same two shapes;
 * - `local_shell_call_output.output`: the hosted local-shell tool's result, a string.
 * Every other item is left alone: `message` items of any role, `reasoning` (its `encrypted_content`
 * must come back byte for byte), every `*_call` the model made, and outputs that are not text
 * (`computer_call_output` is a screenshot; `shell_call_output` is structured stdout/stderr/outcome).
 * A string `input` has no items and is never touched.
 */
import type { TextSlot } from './codec';
import { isObject } from './decision';

const OUTPUT_ITEMS = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output']);
const TEXT_PARTS = new Set(['input_text', 'output_text']);

/** Items the model produced: after the last of them, tool output is new (the model has not read it). */
function isModelItem(item: Record<string, unknown>): boolean {
  const type = item.type;
  if (type === 'reasoning') return true;
  if (type === 'message' || type === undefined) return item.role === 'assistant';
  return typeof type === 'string' && type.endsWith('_call');
}

/**
 * All compressible slots of a Responses `input` array, in order. With `previous_response_id` the
 * server holds the history, so every item sent is new.
 */
export function findResponsesSlots(input: unknown[], serverHoldsHistory: boolean): TextSlot[] {
  let lastModel = -1;
  if (!serverHoldsHistory) {
    for (let i = 0; i < input.length; i++) {
      const item = input[i];
      if (isObject(item) && isModelItem(item)) lastModel = i;
    }
  }
  const out: TextSlot[] = [];
  for (let i = 0; i < input.length; i++) {
    const item = input[i];
    if (!isObject(item) || typeof item.type !== 'string' || !OUTPUT_ITEMS.has(item.type)) continue;
    const isNew = i > lastModel;
    const output = item.output;
    const callId = typeof item.call_id === 'string' ? item.call_id : undefined;
    if (typeof output === 'string') out.push({ container: item, field: 'output', text: output, kind: 'tool', row: i, isNew, callId });
    else if (Array.isArray(output)) {
      for (const part of output) {
        if (isObject(part) && typeof part.type === 'string' && TEXT_PARTS.has(part.type) && typeof part.text === 'string') {
          out.push({ container: part, field: 'text', text: part.text, kind: 'tool', row: i, isNew, callId });
        }
      }
    }
  }
  return out;
}
