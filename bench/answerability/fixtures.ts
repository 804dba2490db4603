/**
 * Cases from the shared, recorded fixtures (`__tests__/fixtures/`): the tool outputs as they were
 * captured, each with a question (the conversation's own user row where it has one, else one posed
 * here) and an answer set computed by parsing the output, never typed by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnswerCase } from './types';

const FIXTURES = join(__dirname, '..', '..', '__tests__', 'fixtures');
const body = (path: string) => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')).body;

const linesWith = (text: string, term: string) => text.split('\n').filter((l) => l.includes(term));

/**
 * The records of an output that is JSON only in part (Codex prints a header before it and cuts its
 * middle): every innermost `{…}` that parses. A cut record does not parse and is not an answer.
 */
function flatRecords(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of text.matchAll(/\{[^{}]*\}/g)) {
    try {
      out.push(JSON.parse(m[0]));
    } catch {
      // a record cut by the tool's own truncation
    }
  }
  return out;
}

function fixtureCase(id: string, variant: string, c: Omit<AnswerCase, 'id' | 'kind' | 'variant'>): AnswerCase {
  if (c.answerItems.length === 0) throw new Error(`fixture case ${id}: empty answer set (fixture changed?)`);
  return { id, kind: 'fixtures', variant, ...c };
}

function openaiAgent(): AnswerCase[] {
  const messages = body('openai-agent/request.json').messages;
  const [searchCall] = messages[2].tool_calls;
  const [grepCall] = messages[4].tool_calls;
  const ticketsText: string = messages[3].content;
  const grepText: string = messages[5].content;
  const tickets: Record<string, string>[] = JSON.parse(ticketsText).tickets;
  const search = { toolName: searchCall.function.name, toolArgs: JSON.parse(searchCall.function.arguments), output: ticketsText };
  return [
    // The conversation's own question, asked before the search: the tickets about 502s answer it.
    fixtureCase('fx-openai-tickets-502', 'openai-agent search_tickets: own question, titles with 502', {
      ...search,
      question: messages[1].content,
      answerItems: tickets.filter((t) => t.title.includes('502')).map((t) => t.id),
      itemKind: 'id',
      query: '502',
    }),
    // The conversation's follow-up ("Focus on the p1 tickets…") asked of the same output.
    fixtureCase('fx-openai-tickets-p1', 'openai-agent search_tickets: follow-up question, p1 tickets', {
      ...search,
      question: messages[6].content,
      answerItems: tickets.filter((t) => t.priority === 'p1').map((t) => t.id),
      itemKind: 'id',
      query: 'p1',
    }),
    fixtureCase('fx-openai-grep-attempt5', 'openai-agent grep_repo: posed question, attempt: 5', {
      toolName: grepCall.function.name,
      toolArgs: JSON.parse(grepCall.function.arguments),
      output: grepText,
      question: 'Where is PaymentError thrown with attempt: 5?',
      answerItems: linesWith(grepText, 'attempt: 5'),
      itemKind: 'line',
      query: '"attempt: 5"',
    }),
  ];
}

function codexSession(): AnswerCase[] {
  const input: Record<string, any>[] = body('codex-session/turn-3.json').input;
  const question: string = input[3].content[0].text;
  const call = (callId: string) => input.find((i) => i.type === 'function_call' && i.call_id === callId) as Record<string, string>;
  const output = (callId: string) => (input.find((i) => i.type === 'function_call_output' && i.call_id === callId) as Record<string, string>).output;
  const orders = output('call_1');
  const log = output('call_2');
  return [
    fixtureCase('fx-codex-orders-refunded', 'codex exec_command cat orders.json: own question, refunded rows', {
      toolName: call('call_1').name,
      toolArgs: JSON.parse(call('call_1').arguments),
      output: orders,
      question,
      answerItems: flatRecords(orders)
        .filter((r) => r.status === 'refunded')
        .map((r) => String(r.order_id)),
      itemKind: 'id',
      query: 'refunded',
    }),
    fixtureCase('fx-codex-worker-errors', 'codex exec_command tail worker.log: own question, ERROR lines', {
      toolName: call('call_2').name,
      toolArgs: JSON.parse(call('call_2').arguments),
      output: log,
      question,
      answerItems: linesWith(log, ' ERROR '),
      itemKind: 'line',
      query: 'ERROR',
    }),
  ];
}

function claudeCodeSession(): AnswerCase[] {
  // Turn 4 holds every tool call of the session; its user rows are placeholder text, so the questions are posed here.
  const messages: Record<string, any>[] = body('claude-code-session/turn-4.json').messages;
  const toolUse = (id: string) => messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b) => b.type === 'tool_use' && b.id === id);
  const toolResult = (id: string): string => {
    const block = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b) => b.type === 'tool_result' && b.tool_use_id === id);
    return typeof block.content === 'string' ? block.content : block.content.map((p: { text?: string }) => p.text ?? '').join('');
  };
  const orders = toolResult('toolu_00');
  const log = toolResult('toolu_01');
  return [
    fixtureCase('fx-claude-orders-refunded', 'claude-code Bash cat orders.json: posed question, refunded orders', {
      toolName: toolUse('toolu_00').name,
      toolArgs: toolUse('toolu_00').input,
      output: orders,
      question: 'Which orders were refunded?',
      answerItems: (JSON.parse(orders).orders as Record<string, unknown>[]).filter((o) => o.status === 'refunded').map((o) => String(o.name)),
      itemKind: 'id',
      query: 'refunded',
    }),
    fixtureCase('fx-claude-worker-failed', 'claude-code Bash cat worker.log: posed question, failed charges', {
      toolName: toolUse('toolu_01').name,
      toolArgs: toolUse('toolu_01').input,
      output: log,
      question: 'Which charges failed?',
      answerItems: linesWith(log, 'charge failed'),
      itemKind: 'line',
      query: 'failed',
    }),
  ];
}

export function fixtureCases(): AnswerCase[] {
  return [...openaiAgent(), ...codexSession(), ...claudeCodeSession()];
}
