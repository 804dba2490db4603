/**
 * Planning compression (lib/plan.ts), with no I/O: the rules that keep compression lossless and
 * prompt-cache-stable, each on hand-made slots whose right answer is known by construction.
 */
import fc from 'fast-check';
import type { TextSlot } from '../../lib/codec';
import { acceptAnswers, planCompression, slotsToSend } from '../../lib/plan';

function slot(text: string, isNew: boolean, row = 0): TextSlot {
  return { container: { content: text }, field: 'content', text, kind: 'tool', row, isNew };
}
const keyOf = (s: TextSlot) => `k:${s.text}`;

describe('planCompression', () => {
  test('memo values fill history and new slots alike; equal values are hits but not writes', () => {
    const slots = [slot('old-a', false), slot('old-b', false), slot('new-c', true)];
    const plan = planCompression(slots, slots.map(keyOf), ['A', 'old-b', 'C']);
    expect(plan.fromMemo).toEqual([
      [slots[0], 'A'],
      [slots[2], 'C'],
    ]);
    expect(plan.memoHits).toBe(3);
    expect(plan.sendKeys).toEqual([]);
  });

  test('a history slot the memo does not know is never sent (the model read it as it is)', () => {
    const slots = [slot('old', false), slot('new', true)];
    const plan = planCompression(slots, slots.map(keyOf), [undefined, undefined]);
    expect(plan.sendKeys).toEqual(['k:new']);
    expect(slotsToSend(plan)).toEqual([slots[1]]);
  });

  test('identical new texts are sent once, and every slot holding them is in its group', () => {
    const slots = [slot('x'.repeat(30), true, 1), slot('y', true, 2), slot('x'.repeat(30), true, 3)];
    const plan = planCompression(slots, slots.map(keyOf), [undefined, undefined, undefined]);
    expect(plan.sendKeys).toEqual([`k:${'x'.repeat(30)}`, 'k:y']);
    expect(plan.groups.get(`k:${'x'.repeat(30)}`)).toEqual([slots[0], slots[2]]);
    // Estimated once per text sent: ceil(30/3) + ceil(1/3).
    expect(plan.estimatedTokens).toBe(11);
  });

  test('generated: every slot is either filled, sent, or left, never two of them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ text: fc.constantFrom('a', 'b', 'c', 'd'), isNew: fc.boolean(), known: fc.option(fc.constantFrom('A', 'B'), { nil: undefined }) })),
        (rows) => {
          const slots = rows.map((r, i) => slot(r.text, r.isNew, i));
          // The memo answers per text (as it does: keyed by content).
          const memo = new Map<string, string | undefined>();
          rows.forEach((r) => memo.has(r.text) || memo.set(r.text, r.known));
          const known = slots.map((s) => memo.get(s.text));
          const plan = planCompression(slots, slots.map(keyOf), known);
          const grouped = new Set([...plan.groups.values()].flat());
          slots.forEach((s, i) => {
            if (known[i] !== undefined) expect(grouped.has(s)).toBe(false);
            else expect(grouped.has(s)).toBe(s.isNew);
          });
          expect(plan.memoHits).toBe(known.filter((k) => k !== undefined).length);
          expect(new Set(plan.sendKeys).size).toBe(plan.sendKeys.length);
        },
      ),
    );
  });
});

describe('acceptAnswers', () => {
  const sent = [slot('a long tool output', true), slot('another output', true), slot('third', true), slot('fourth one', true)];
  test('takes shorter text; refuses longer, empty, role-changed and non-text answers', () => {
    const rows = [
      { role: 'tool', content: 'short' },
      { role: 'tool', content: 'another output, but longer now' },
      { role: 'user', content: 'thi' },
      { role: 'tool', content: [{ type: 'image', source: {} }] },
    ];
    expect(acceptAnswers(sent, rows, ['tool', 'tool', 'tool', 'tool'])).toEqual([
      { text: 'short', rejected: false },
      { text: 'another output', rejected: true },
      { text: 'third', rejected: true },
      { text: 'fourth one', rejected: true },
    ]);
  });

  test('an unchanged answer is neither a change nor a rejection; text parts are joined', () => {
    const rows = [
      { role: 'tool', content: 'a long tool output' },
      {
        role: 'tool',
        content: [
          { type: 'text', text: 'ano' },
          { type: 'text', text: 'ther' },
        ],
      },
    ];
    expect(acceptAnswers(sent.slice(0, 2), rows, ['tool', 'tool'])).toEqual([
      { text: 'a long tool output', rejected: false },
      { text: 'another', rejected: false },
    ]);
  });

  test('an empty answer keeps the original', () => {
    expect(acceptAnswers([sent[0]], [{ role: 'tool', content: '' }], ['tool'])).toEqual([{ text: 'a long tool output', rejected: true }]);
  });
});
