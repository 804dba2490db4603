/**
 * The byte scanner that measures a body before anything parses it. Its oracle is JSON.parse: on
 * generated JSON, cut into chunks at arbitrary places (inside strings, between a backslash and the
 * quote it escapes), depth and `messages` rows must match what the parsed value holds.
 */
import fc from 'fast-check';
import { JsonShapeScanner, measureParsed, scanJsonShape, type ShapeLimits } from '../../lib/json-shape';
import { claudeTurns, openaiAgent } from '../kit/fixtures';

const NO_LIMITS: ShapeLimits = { maxDepth: 1e9, maxJsonValues: 1e12, maxMessages: 1e12 };

/** Nesting depth of a parsed value, computed independently of the code under test. */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0);
}

function scanInPieces(text: string, cuts: number[], limits = NO_LIMITS) {
  const bytes = Buffer.from(text);
  const scanner = new JsonShapeScanner(limits);
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    scanner.push(bytes.subarray(from, cut));
    from = cut;
  }
  scanner.push(bytes.subarray(from));
  return scanner.finish();
}

// Strings full of the characters that matter to the scanner: quotes, backslashes, brackets, commas.
const trickyString = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', ':', 'a', 'é', '\n', 'messages'.charAt(0)), maxLength: 12 });
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(trickyString, fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(trickyString, fc.constant('messages')), tie('v'), { maxKeys: 4 }),
  ),
})).v;
const body = fc.record({
  model: fc.string(),
  messages: fc.array(value, { maxLength: 12 }),
  extra: value,
  'mess"ages': fc.array(value, { maxLength: 3 }),
});

describe('JsonShapeScanner against JSON.parse', () => {
  test('depth and messages rows match, however the bytes are cut', () => {
    fc.assert(
      fc.property(body, fc.array(fc.nat(), { maxLength: 8 }), (b, cuts) => {
        const text = JSON.stringify(b);
        const shape = scanInPieces(text, cuts);
        expect(shape.exceeded).toBeUndefined();
        expect(shape.depth).toBe(depthOf(b));
        expect(shape.messages).toBe(b.messages.length);
      }),
      { numRuns: 500 },
    );
  });

  test('any JSON value: depth matches; cut one byte at a time too', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        expect(scanInPieces(text, []).depth).toBe(depthOf(v));
        expect(
          scanInPieces(
            text,
            Array.from({ length: Buffer.byteLength(text) }, (_, i) => i),
          ).depth,
        ).toBe(depthOf(v));
      }),
      { numRuns: 300 },
    );
  });

  test('a limit stops the scan where it is passed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 50 }), (depth, maxDepth) => {
        const text = '['.repeat(depth) + ']'.repeat(depth);
        const shape = scanInPieces(text, [], { ...NO_LIMITS, maxDepth });
        expect(shape.exceeded === 'depth').toBe(depth > maxDepth);
      }),
    );
  });

  test('maxMessages: n rows pass at n, fail at n + 1', () => {
    for (const n of [1, 2, 7, 100]) {
      const rows = (k: number) => JSON.stringify({ messages: Array.from({ length: k }, () => ({ role: 'user', content: 'x,y' })) });
      expect(scanInPieces(rows(n), [], { ...NO_LIMITS, maxMessages: n }).exceeded).toBeUndefined();
      expect(scanInPieces(rows(n + 1), [], { ...NO_LIMITS, maxMessages: n }).exceeded).toBe('messages');
    }
  });

  test('nested `messages` keys and keys that only look like it are not counted', () => {
    const text = JSON.stringify({ 'mess"ages': [1, 2], b: { messages: [1, 2, 3] }, messages: ['a,b', [1, [2, 3]], { x: ']' }, null], c: '\\"[' });
    expect(scanInPieces(text, []).messages).toBe(4);
  });

  test('the real fixtures: depth and rows as parsed', async () => {
    for (const f of [...claudeTurns(), openaiAgent()]) {
      const shape = await scanJsonShape([Buffer.from(JSON.stringify(f.body))], NO_LIMITS);
      expect(shape.depth).toBe(depthOf(f.body));
      expect(shape.messages).toBe(f.body.messages.length);
    }
  });
});

describe('measureParsed (bodies an earlier parser built)', () => {
  test('agrees with the scanner on depth and rows', () => {
    fc.assert(
      fc.property(body, (b) => {
        const parsed = measureParsed(b, NO_LIMITS);
        expect(parsed.depth).toBe(depthOf(b));
        expect(parsed.messages).toBe(b.messages.length);
      }),
      { numRuns: 300 },
    );
  });

  test('100,000 levels are measured without recursion', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    expect(measureParsed(deep, { ...NO_LIMITS, maxDepth: 64 }).exceeded).toBe('depth');
    expect(measureParsed(deep, NO_LIMITS).depth).toBe(100_000);
  });
});
