/**
 * What a compress call carried, split the way the middleware builds it: the tool rows (the outputs
 * to compress) and the protected context rows before each (the human request, the producing call).
 */
import type { StandInCall } from './standin';

export const toolRows = (call: StandInCall): any[] => call.body.messages.filter((m: any) => m.role === 'tool');
export const contextRows = (call: StandInCall): any[] => call.body.messages.filter((m: any) => m.role !== 'tool');
/** Context rows are the question (user text) and the call (assistant, no content, one tool call): nothing else. */
export const isContextRow = (m: any): boolean =>
  (m.role === 'user' && typeof m.content === 'string') || (m.role === 'assistant' && m.content === null && Array.isArray(m.tool_calls) && m.tool_calls.length === 1);
