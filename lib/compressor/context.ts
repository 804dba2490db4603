/**
 * The context of a tool output: the latest human request before it and the tool call that produced
 * it. Both come from the `/v1/compress` request's own rows, read in order as the compressor walks
 * them: a user row with text is a request; an assistant row's `tool_calls` (OpenAI) or `tool_use`
 * blocks (Anthropic) name the calls that the later `role:"tool"` rows / `tool_result` blocks answer.
 * The texts kept here are references to the request's own strings; the bounds on what is used of
 * them are applied where terms are extracted (terms.ts).
 */
import type { ContractMessage } from '../contract';
import { humanRequestText } from '../human-text';

export { humanRequestText, stripSystemReminders } from '../human-text';

export interface ToolOutputContext {
  /** The text of the latest human request before the output (system reminders removed). */
  question?: string;
  /** The name of the call that produced the output. */
  toolName?: string;
  /** The call's arguments: OpenAI's `function.arguments` string, or Anthropic's `input` as JSON. */
  toolArguments?: string;
}

interface ToolCall {
  name?: string;
  /** The arguments string (OpenAI), or the input object (Anthropic), serialised when asked for. */
  args?: string | object;
}

/** Tool names are bounded: a longer one is not a name worth reading. */
const MAX_TOOL_NAME = 256;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function boundedName(name: unknown): string | undefined {
  return typeof name === 'string' && name.length > 0 && name.length <= MAX_TOOL_NAME ? name : undefined;
}

/**
 * Follows a request row by row. `observe` each row after its own tool outputs were handled (a row's
 * text comes after the results it holds); `contextFor` gives the context of an output.
 */
export class ContextTracker {
  private question: string | undefined;
  private readonly calls = new Map<string, ToolCall>();
  /** Legacy `function_call` (no id): the `role:"function"` row after it answers by name. */
  private lastFunctionCall: ToolCall | undefined;

  observe(message: ContractMessage): void {
    if (message.role === 'user') {
      const text = humanRequestText(message.content);
      if (text !== undefined) this.question = text;
    } else if (message.role === 'assistant') {
      this.observeCalls(message);
    }
  }

  private observeCalls(message: ContractMessage): void {
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        if (!isRecord(call) || typeof call.id !== 'string') continue;
        const fn = isRecord(call.function) ? call.function : {};
        this.calls.set(call.id, { name: boundedName(fn.name), args: typeof fn.arguments === 'string' ? fn.arguments : undefined });
      }
    }
    if (isRecord(message.function_call)) {
      const fn = message.function_call;
      this.lastFunctionCall = { name: boundedName(fn.name), args: typeof fn.arguments === 'string' ? fn.arguments : undefined };
    }
    if (Array.isArray(message.content)) {
      for (const block of message.content) {
        if (!isRecord(block) || block.type !== 'tool_use' || typeof block.id !== 'string') continue;
        const input = block.input;
        this.calls.set(block.id, { name: boundedName(block.name), args: typeof input === 'string' || isRecord(input) || Array.isArray(input) ? input : undefined });
      }
    }
  }

  /**
   * The context of an output answering call `callId` (a `tool_call_id` or `tool_use_id`); for a
   * legacy `role:"function"` row, `functionName` names the call. Undefined when there is neither a
   * question nor a known call: the output is compressed as it would be without context.
   */
  contextFor(callId: unknown, functionName?: unknown): ToolOutputContext | undefined {
    let call = typeof callId === 'string' ? this.calls.get(callId) : undefined;
    if (call === undefined && typeof functionName === 'string' && this.lastFunctionCall?.name === functionName) call = this.lastFunctionCall;
    if (call === undefined && this.question === undefined) return undefined;
    const context: ToolOutputContext = {};
    if (this.question !== undefined) context.question = this.question;
    if (call?.name !== undefined) context.toolName = call.name;
    if (call !== undefined && call.args !== undefined && typeof call.args !== 'string') call.args = JSON.stringify(call.args); // once per call
    if (typeof call?.args === 'string') context.toolArguments = call.args;
    return context;
  }
}
