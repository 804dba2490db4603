/**
 * The context of a tool output, read from the request's own rows: the latest human request and the
 * producing call, in OpenAI and Anthropic shapes.
 */
import type { ContractMessage } from '../../lib/contract';
import { ContextTracker, humanRequestText, stripSystemReminders } from '../../lib/compressor/context';

/** The context of each tool output of a conversation, in order, as compress() sees them. */
function contexts(messages: ContractMessage[]) {
  const tracker = new ContextTracker();
  const found: unknown[] = [];
  for (const message of messages) {
    if (message.role === 'tool' || message.role === 'function') found.push(tracker.contextFor(message.tool_call_id, message.role === 'function' ? message.name : undefined));
    if (Array.isArray(message.content)) {
      for (const part of message.content as Record<string, unknown>[]) if (part.type === 'tool_result') found.push(tracker.contextFor(part.tool_use_id));
    }
    tracker.observe(message);
  }
  return found;
}

describe('OpenAI shape', () => {
  it('pairs each tool row with the latest question and the call of the same id', () => {
    const found = contexts([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Which p1 tickets are open?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'search_tickets', arguments: '{"priority":"p1"}' } },
          { id: 'call_b', type: 'function', function: { name: 'list_users', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_b', content: 'users' },
      { role: 'tool', tool_call_id: 'call_a', content: 'tickets' },
      { role: 'user', content: 'And the refunded orders?' },
      { role: 'tool', tool_call_id: 'unknown', content: 'x' },
    ]);
    expect(found).toEqual([
      { question: 'Which p1 tickets are open?', toolName: 'list_users', toolArguments: '{}' },
      { question: 'Which p1 tickets are open?', toolName: 'search_tickets', toolArguments: '{"priority":"p1"}' },
      { question: 'And the refunded orders?' },
    ]);
  });

  it('has no context for a lone tool row (old callers)', () => {
    expect(contexts([{ role: 'tool', tool_call_id: 'call_a', content: 'x' }])).toEqual([undefined]);
  });

  it('reads legacy function_call / role:"function" rows by name', () => {
    const found = contexts([
      { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { role: 'function', name: 'get_weather', content: 'sunny' },
    ]);
    expect(found).toEqual([{ toolName: 'get_weather', toolArguments: '{"city":"Oslo"}' }]);
  });
});

describe('Anthropic shape', () => {
  it('pairs tool_result blocks with tool_use blocks by id, input as JSON', () => {
    const found = contexts([
      { role: 'user', content: [{ type: 'text', text: 'Why did order 1042 fail?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 'x' },
          { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'grep 1042 orders.log' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'log' },
          { type: 'text', text: 'also check refunds' },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'Read', input: { file_path: 'refunds.json' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'json' }] }] },
    ]);
    expect(found).toEqual([
      { question: 'Why did order 1042 fail?', toolName: 'Bash', toolArguments: '{"command":"grep 1042 orders.log"}' },
      // The text after a tool result in the same row is a request for what comes next.
      { question: 'also check refunds', toolName: 'Read', toolArguments: '{"file_path":"refunds.json"}' },
    ]);
  });

  it('does not take a row of tool results only, or of system reminders only, for a request', () => {
    const found = contexts([
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nctx\n</system-reminder>' },
          { type: 'text', text: 'List failed payments' },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'q', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'a' }] },
      { role: 'user', content: [{ type: 'text', text: '<system-reminder>The date changed.</system-reminder>' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't2', name: 'q', input: { x: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't2', content: 'b' }] },
    ]);
    expect(found).toEqual([
      { question: 'List failed payments', toolName: 'q', toolArguments: '{}' },
      { question: 'List failed payments', toolName: 'q', toolArguments: '{"x":1}' },
    ]);
  });
});

describe('human request text', () => {
  it('removes system reminders, keeps the rest of a block', () => {
    expect(stripSystemReminders('a<system-reminder>x</system-reminder>b<system-reminder>y</system-reminder>')).toBe('ab');
    expect(stripSystemReminders('<system-reminder>unclosed')).toBe('<system-reminder>unclosed');
    expect(humanRequestText([{ type: 'text', text: '<system-reminder>r</system-reminder>\nfind T-5000' }])).toBe('find T-5000');
    expect(humanRequestText([{ type: 'tool_result', tool_use_id: 'x', content: 'find T-5000' }])).toBeUndefined();
    expect(humanRequestText('   ')).toBeUndefined();
  });

  it('strips reminders from huge texts in linear time (output size only is asserted)', () => {
    const many = '<system-reminder>'.repeat(200_000);
    expect(stripSystemReminders(many)).toBe(many);
    const closed = '<system-reminder>x</system-reminder>'.repeat(100_000);
    expect(stripSystemReminders(`${closed}q`)).toBe('q');
  });
});
