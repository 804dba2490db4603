import { findSlots, estimateTokens } from '../../lib/codec';
import { textOfServiceRow } from '../../lib/codec';
import { isBypassValue, isJsonContentType, stripOptInFields } from '../../lib/decision';
import { mergeGuardrailNames } from '../../lib/headers';
import { claudeTurns, openaiAgent } from '../kit/fixtures';
import { encode } from 'gpt-tokenizer';

describe('findSlots', () => {
  test('OpenAI agent: only role "tool" rows; the one after the last assistant is new', () => {
    const slots = findSlots(openaiAgent().body.messages, false);
    expect(slots.map((s) => [s.row, s.kind, s.isNew])).toEqual([
      [3, 'tool', false],
      [5, 'tool', true],
    ]);
  });

  test('Claude Code turn 4: tool_result strings only; never system rows, thinking, tool_use or text', () => {
    const msgs = claudeTurns()[3].body.messages;
    const slots = findSlots(msgs, false);
    expect(slots.map((s) => [s.row, s.field, s.isNew])).toEqual([
      [3, 'content', false],
      [5, 'content', false],
      [7, 'content', true],
    ]);
    for (const s of slots) expect((s.container as any).type).toBe('tool_result');
  });

  test('compressUserMessages adds user text, never the live (last) user turn', () => {
    const msgs = [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'old question' },
      { role: 'assistant', content: 'answer' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'older block' },
          { type: 'image', source: {} },
        ],
      },
      { role: 'assistant', content: 'x' },
      { role: 'user', content: 'live question' },
    ];
    expect(findSlots(msgs, false)).toHaveLength(0);
    const slots = findSlots(msgs, true);
    expect(slots.map((s) => s.text)).toEqual(['old question', 'older block']);
  });

  test('text parts inside tool content; images and unknown shapes skipped', () => {
    const msgs = [
      { role: 'assistant', content: null, tool_calls: [] },
      {
        role: 'tool',
        tool_call_id: 'a',
        content: [
          { type: 'text', text: 'one' },
          { type: 'image_url', image_url: {} },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 't',
            content: [
              { type: 'text', text: 'two' },
              { type: 'image', source: {} },
            ],
          },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'u', content: { weird: true } }] },
      null,
      'junk',
    ];
    expect(findSlots(msgs as unknown[], false).map((s) => s.text)).toEqual(['one', 'two']);
  });
});

describe('textOfServiceRow', () => {
  test('string content of the same role', () => expect(textOfServiceRow({ role: 'tool', content: 'x' }, 'tool')).toBe('x'));
  test('text parts are joined', () =>
    expect(
      textOfServiceRow(
        {
          role: 'tool',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        'tool',
      ),
    ).toBe('ab'));
  test('changed role, objects, images: refused', () => {
    expect(textOfServiceRow({ role: 'assistant', content: 'x' }, 'tool')).toBeUndefined();
    expect(textOfServiceRow({ role: 'tool', content: { a: 1 } }, 'tool')).toBeUndefined();
    expect(textOfServiceRow({ role: 'tool', content: [{ type: 'image' }] }, 'tool')).toBeUndefined();
    expect(textOfServiceRow(null, 'tool')).toBeUndefined();
  });
});

describe('decision helpers', () => {
  test('bypass: "true" in any case, not trimmed', () => {
    expect(isBypassValue('true')).toBe(true);
    expect(isBypassValue('TrUe')).toBe(true);
    expect(isBypassValue(' true')).toBe(false);
    expect(isBypassValue('true ')).toBe(false);
    expect(isBypassValue('true, true')).toBe(false);
    expect(isBypassValue(undefined)).toBe(false);
    expect(isBypassValue(['true'])).toBe(false);
  });
  test('JSON content types', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/problem+json')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType('multipart/form-data; boundary=x')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
  test('stripOptInFields keeps the rest of metadata', () => {
    const b: any = { guardrails: ['x'], litellm_metadata: { guardrails: ['x'] }, metadata: { guardrails: ['x'], user_id: 'u' }, model: 'm' };
    expect(stripOptInFields(b)).toBe(true);
    expect(b).toEqual({ metadata: { user_id: 'u' }, model: 'm' });
    const c: any = { metadata: { guardrails: ['x'] } };
    stripOptInFields(c);
    expect(c).toEqual({});
    expect(stripOptInFields({ model: 'm' })).toBe(false);
  });
  test('mergeGuardrailNames', () => {
    expect(mergeGuardrailNames(undefined, 'a')).toBe('a');
    expect(mergeGuardrailNames('b, a ,,c', 'a')).toBe('b,a,c');
    expect(mergeGuardrailNames(['x', 'y,x'], 'z')).toBe('x,y,z');
  });
});

test('estimateTokens is within 15% of o200k counts on the fixtures tool outputs', () => {
  const texts = findSlots(claudeTurns()[3].body.messages, false)
    .concat(findSlots(openaiAgent().body.messages, false))
    .map((s) => s.text)
    .filter((t) => t.length > 1000);
  expect(texts.length).toBeGreaterThan(2);
  for (const t of texts) {
    const real = encode(t).length;
    const est = estimateTokens(t);
    expect(Math.abs(est - real) / real).toBeLessThan(0.15);
  }
});
