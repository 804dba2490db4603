/**
 * framing.ts: a Codex-style header in front of a command's output is split off, so the output is
 * detected and compressed by its own kind while the header stays verbatim.
 */
import fc from 'fast-check';
import { contentHash } from '../../lib/ccr';
import { compress } from '../../lib/compressor';
import { splitFraming } from '../../lib/compressor/framing';

const HEADER = 'Chunk ID: 873232\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 5626\nOutput:\n';

test('the Codex header, with its truncation notes, is the head; the rest is the body', () => {
  const notes = 'Warning: truncated output (original token count: 5626)\nTotal output lines: 1085\n\n';
  expect(splitFraming(`${HEADER}${notes}{"a":1}\n`)).toEqual({ head: HEADER + notes, body: '{"a":1}\n' });
  expect(splitFraming(`${HEADER}line 1\nline 2`)).toEqual({ head: HEADER, body: 'line 1\nline 2' });
});

test('no header: nothing is split (a log that starts with other lines, or no Output: line)', () => {
  for (const text of ['{"a":1}', 'Chunk ID: 1\nsomething else\nOutput:\nx', 'Wall time: 1s\nProcess exited with code 0\nno output line\n', '']) {
    expect(splitFraming(text)).toEqual({ head: '', body: text });
  }
});

test('generated texts: head + body is always the text, and the head is bounded', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), fc.boolean(), (rest, framed) => {
      const text = framed ? HEADER + rest : rest;
      const { head, body } = splitFraming(text);
      expect(head + body).toBe(text);
      expect(head.split('\n').length).toBeLessThanOrEqual(13);
    }),
  );
});

test("a Codex shell output holding a JSON export is compressed as JSON rows, header kept, the question's rows shown, marked with the whole text's hash", () => {
  const rows = Array.from({ length: 220 }, (_, i) => ({
    order_id: `ORD-${70000 + i}`,
    status: i % 7 === 0 ? 'refunded' : i % 2 ? 'shipped' : 'delivered',
    amount_cents: 1000 + i * 37,
  }));
  const text = `${HEADER}${JSON.stringify({ data: rows, next: null }, null, 2)}\n`;
  const reply = compress({
    model: 'gpt-5',
    config: { protect_recent: 0 },
    messages: [
      { role: 'user', content: 'Which orders were refunded?' },
      { role: 'tool', tool_call_id: 'c', content: text },
    ],
  });
  const out = reply.messages[1].content as string;
  expect(out.startsWith(HEADER)).toBe(true);
  expect(out.length).toBeLessThan(text.length / 5);
  for (const r of rows.filter((r) => r.status === 'refunded')) expect(out).toContain(`"${r.order_id}"`);
  expect(reply.ccr_hashes).toEqual([contentHash(text)]);
  expect(out).toContain(`hash=${contentHash(text)}`);
});
