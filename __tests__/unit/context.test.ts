/**
 * context.ts: the question and the call found for each tool output, bounded; retrieval outputs
 * dropped; the memo-key part stable. Plus the names a `headroom_retrieve` call arrives under.
 */
import fc from 'fast-check';
import { isRetrievalToolName } from '../../lib/ccr';
import { findRequestSlots, toServiceMessages } from '../../lib/codec';
import { MAX_ARGUMENT_CHARS, MAX_QUESTION_CHARS, attachContext, contextKey } from '../../lib/context';
import { planCompression } from '../../lib/plan';

const slotsOf = (body: Record<string, unknown>) => attachContext(body, findRequestSlots(body, false));

describe('attachContext', () => {
  test('chat: each output gets the human request before it and its own call; a later question is not its context', () => {
    const body = {
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'one', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 'a', content: 'out a' },
        { role: 'user', content: 'second question' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'b', type: 'function', function: { name: 'two', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'b', content: 'out b' },
        { role: 'tool', tool_call_id: 'unknown', content: 'out c' },
      ],
    };
    expect(slotsOf(body).map((s) => s.context)).toEqual([
      { question: 'first question', call: { name: 'one', arguments: '{"x":1}' } },
      { question: 'second question', call: { name: 'two', arguments: '{}' } },
      { question: 'second question' },
    ]);
  });

  test('Anthropic: tool_use input as JSON; system reminders and tool-result-only rows are not the question', () => {
    const body = {
      messages: [
        { role: 'user', content: 'why is checkout failing?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'tail log' } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: 'log 1' },
            { type: 'text', text: '<system-reminder>todo list</system-reminder>' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't2', name: 'Read', input: { path: 'a.ts' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'file' }] }] },
      ],
    };
    expect(slotsOf(body).map((s) => s.context)).toEqual([
      { question: 'why is checkout failing?', call: { name: 'Bash', arguments: '{"command":"tail log"}' } },
      { question: 'why is checkout failing?', call: { name: 'Read', arguments: '{"path":"a.ts"}' } },
    ]);
  });

  test('outputs of headroom_retrieve, under any client prefix, are dropped', () => {
    const body = {
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 'r', name: 'mcp__headroom__headroom_retrieve', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'r', content: 'original' }] },
      ],
    };
    expect(slotsOf(body)).toEqual([]);
  });

  test('bounded: a huge question and huge arguments are cut', () => {
    const question = 'q'.repeat(50_000);
    const body = {
      input: [
        { type: 'message', role: 'user', content: question },
        { type: 'function_call', call_id: 'c', name: 'n'.repeat(10_000), arguments: 'a'.repeat(50_000) },
        { type: 'function_call_output', call_id: 'c', output: 'out' },
      ],
    };
    const [slot] = slotsOf(body);
    expect(slot.context!.question!.length).toBe(MAX_QUESTION_CHARS);
    expect(slot.context!.call!.arguments.length).toBe(MAX_ARGUMENT_CHARS);
    expect(slot.context!.call!.name.length).toBe(256);
  });

  test('generated bodies: never throws, contexts always bounded, the key stable', () => {
    const part = fc.oneof(
      fc.string(),
      fc.record(
        {
          type: fc.constantFrom('text', 'tool_result', 'tool_use', 'input_text'),
          text: fc.string(),
          id: fc.string(),
          tool_use_id: fc.string(),
          name: fc.anything(),
          input: fc.anything(),
          content: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    const row = fc.record(
      {
        role: fc.constantFrom('user', 'assistant', 'tool', 'system'),
        type: fc.constantFrom('message', 'function_call', 'function_call_output', 'custom_tool_call'),
        content: fc.oneof(fc.string(), fc.array(part), fc.constant(null)),
        tool_call_id: fc.string(),
        call_id: fc.constantFrom('a', 'b'),
        output: fc.string(),
        name: fc.anything(),
        arguments: fc.anything(),
        tool_calls: fc.array(
          fc.record({ id: fc.constantFrom('a', 'b'), function: fc.record({ name: fc.anything(), arguments: fc.anything() }, { requiredKeys: [] }) }, { requiredKeys: [] }),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), fc.boolean(), (rows, asInput) => {
        const body = asInput ? { input: rows } : { messages: rows };
        for (const slot of slotsOf(body)) {
          const c = slot.context;
          if (!c) continue;
          expect((c.question ?? '').length).toBeLessThanOrEqual(MAX_QUESTION_CHARS);
          expect((c.call?.arguments ?? '').length).toBeLessThanOrEqual(MAX_ARGUMENT_CHARS);
          expect(contextKey(c)).toBe(contextKey(slotsOf(body).find((s) => s.row === slot.row && s.text === slot.text)!.context));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('contextKey is empty without context, so outputs without one keep the key they had', () => {
    expect(contextKey(undefined)).toBe('');
    expect(contextKey({})).toBe('');
    expect(contextKey({ question: 'q' })).not.toBe(contextKey({ call: { name: 'q', arguments: '' } }));
  });
});

describe('isRetrievalToolName', () => {
  test.each([
    ['headroom_retrieve', true],
    ['mcp__headroom__headroom_retrieve', true],
    ['headroom.headroom_retrieve', true],
    ['server/headroom_retrieve', true],
    ['myheadroom_retrieve', false],
    ['headroom_retrieve_all', false],
    [42, false],
    ['x'.repeat(300) + '__headroom_retrieve', false],
  ])('%s → %s', (name, expected) => expect(isRetrievalToolName(name)).toBe(expected));
});

describe('planCompression with a per-output minTokens', () => {
  test('each new text is compared on its own; the skipped ones are counted', () => {
    const slot = (text: string) => ({ container: {}, field: 'content' as const, text, kind: 'tool' as const, row: 0, isNew: true });
    const slots = [slot('x'.repeat(3000)), slot('y'.repeat(300)), slot('z'.repeat(1500))];
    const plan = planCompression(slots, ['a', 'b', 'c'], [undefined, undefined, undefined], 500);
    expect(plan.sendKeys).toEqual(['a', 'c']);
    expect(plan.belowMinTokens).toBe(1);
    expect(plan.estimatedTokens).toBe(1000 + 500);
  });
});

describe('toServiceMessages', () => {
  const slot = (text: string, kind: 'tool' | 'user', context?: any) => ({ container: {}, field: 'content' as const, text, kind, row: 0, isNew: true, context });
  /** The question a compressor reads for each tool row: the latest user row before it. */
  const questionsSeen = (messages: any[]) => {
    let q: string | undefined;
    const out: Array<string | undefined> = [];
    for (const m of messages) {
      if (m.role === 'user') q = m.content;
      if (m.role === 'tool') out.push(q);
    }
    return out;
  };

  test('every tool row is preceded by its own question or by none; taken maps back to slot order', () => {
    const slots = [
      slot('a', 'tool', { question: 'q1', call: { name: 'n', arguments: '{}' } }),
      slot('human text', 'user'),
      slot('b', 'tool', { question: 'q1' }),
      slot('c', 'tool', {}),
      slot('d', 'tool', { question: 'q2' }),
    ];
    const { messages, taken } = toServiceMessages(slots);
    expect(taken.map((t) => messages[t].content)).toEqual(['a', 'human text', 'b', 'c', 'd']);
    const tools = messages.filter((m) => m.role === 'tool').map((m) => m.content);
    const seen = questionsSeen(messages);
    const byText = Object.fromEntries(tools.map((t, i) => [t, seen[i]]));
    expect(byText).toEqual({ a: 'q1', b: 'q1', c: undefined, d: 'q2' });
  });
});
