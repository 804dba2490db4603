/**
 * filterOriginal: rows of a JSON array of objects (top level or nested), lines of anything else,
 * every term required, quoted phrases whole; never throws whatever it is given.
 * filterOriginalAsync: the very same answer a slice at a time (generated originals against the
 * synchronous reference, cut into slices as small as one character), yielding and abortable.
 */
import fc from 'fast-check';
import { filterOriginal, filterOriginalAsync, queryTerms, type FilteredOriginal } from '../../lib/retrieval-query';

const tickets = [
  { id: 1, status: 'refunded', customer: 'Ada Lovelace', note: 'card declined twice' },
  { id: 2, status: 'open', customer: 'Alan Turing', note: 'waiting on customer' },
  { id: 3, status: 'refunded', customer: 'Grace Hopper', note: 'Duplicate charge' },
];

describe('queryTerms', () => {
  test('words and quoted phrases, lowercased; empty terms dropped; an unterminated quote runs to the end', () => {
    expect(queryTerms('  Refunded  "Grace Hopper" x ')).toEqual(['refunded', 'grace hopper', 'x']);
    expect(queryTerms('""  " " a')).toEqual(['a']);
    expect(queryTerms('error "disk full')).toEqual(['error', 'disk full']);
    expect(queryTerms('')).toEqual([]);
  });
});

describe('filterOriginal', () => {
  test('a top-level JSON array of objects: matching rows, compact, case-insensitive', () => {
    const r = filterOriginal(JSON.stringify(tickets, null, 2), 'REFUNDED');
    expect(r.unit).toBe('rows');
    expect(r).toMatchObject({ matched: 2, total: 3 });
    expect(JSON.parse(r.content)).toEqual([tickets[0], tickets[2]]);
    expect(r.content).toBe(`[${JSON.stringify(tickets[0])},${JSON.stringify(tickets[2])}]`);
  });

  test('every term must match (AND), and a quoted phrase is one term', () => {
    expect(JSON.parse(filterOriginal(JSON.stringify(tickets), 'refunded duplicate').content)).toEqual([tickets[2]]);
    expect(filterOriginal(JSON.stringify(tickets), '"hopper grace"').matched).toBe(0);
    expect(JSON.parse(filterOriginal(JSON.stringify(tickets), '"card declined"').content)).toEqual([tickets[0]]);
  });

  test('the largest array of objects nested under an object is the payload', () => {
    const doc = { meta: { page: 1, tags: [{ t: 'refunded' }] }, data: { tickets, total: 3 } };
    const r = filterOriginal(JSON.stringify(doc), 'refunded');
    expect(r).toMatchObject({ unit: 'rows', matched: 2, total: 3 });
    expect(JSON.parse(r.content).map((t: any) => t.id)).toEqual([1, 3]);
  });

  test('no match: an empty array; no terms: every row', () => {
    expect(filterOriginal(JSON.stringify(tickets), 'nothing-like-this')).toEqual({ content: '[]', matched: 0, total: 3, unit: 'rows' });
    expect(filterOriginal(JSON.stringify(tickets), '   ')).toMatchObject({ matched: 3, total: 3 });
  });

  test('logs and other text: non-empty lines, CRLF tolerated', () => {
    const log = ['2024-05-01 INFO started', '', '2024-05-01 ERROR disk full on /dev/sda1', '2024-05-01 WARN retrying', '2024-05-02 ERROR Disk Full again', '   '].join('\r\n');
    const r = filterOriginal(log, 'error "disk full"');
    expect(r).toEqual({ content: '2024-05-01 ERROR disk full on /dev/sda1\n2024-05-02 ERROR Disk Full again', matched: 2, total: 4, unit: 'lines' });
  });

  test('JSON that is not an array of objects is searched by lines', () => {
    expect(filterOriginal('["a.ts", "b.ts"]', 'a.ts').unit).toBe('lines');
    expect(filterOriginal('{"a": 1}', 'a')).toEqual({ content: '{"a": 1}', matched: 1, total: 1, unit: 'lines' });
    expect(filterOriginal('[{"a": 1}, oops', 'a').unit).toBe('lines');
    expect(filterOriginal('[]', '').total).toBe(1);
  });

  test('regular-expression characters in the query are plain text', () => {
    expect(filterOriginal('a.b\naxb\n(x+)+$', 'a.b').content).toBe('a.b');
    expect(filterOriginal('a.b\naxb\n(x+)+$', '(x+)+$').content).toBe('(x+)+$');
  });

  test('linear-ish: 200,000 rows with 32 terms in well under a second', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ id: i, text: `row ${i} status ${i % 7 === 0 ? 'refunded' : 'open'}` }));
    const started = performance.now();
    const r = filterOriginal(JSON.stringify(rows), Array.from({ length: 32 }, () => 'refunded').join(' '));
    expect(r.matched).toBe(Math.ceil(200_000 / 7));
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  test('property: never throws; matched ≤ total; the content holds exactly the matched items', () => {
    const jsonish = fc.oneof(
      fc.string(),
      fc.json(),
      fc.array(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string(), fc.integer(), fc.boolean())), { maxLength: 8 }).map((a) => JSON.stringify(a)),
      fc.array(fc.string(), { maxLength: 10 }).map((lines) => lines.join('\n')),
    );
    fc.assert(
      fc.property(jsonish, fc.string({ maxLength: 80 }), (original, query) => {
        const r = filterOriginal(original, query);
        expect(r.matched).toBeLessThanOrEqual(r.total);
        if (r.unit === 'rows') expect(JSON.parse(r.content)).toHaveLength(r.matched);
        else expect(r.matched === 0 ? r.content : r.content.split('\n').length).toBe(r.matched === 0 ? '' : r.matched);
        expect(filterOriginal(original, '').matched).toBe(r.total);
      }),
      { numRuns: 500 },
    );
  });

  test('never throws on what is not a string', () => {
    expect(filterOriginal(undefined as unknown as string, null as unknown as string)).toEqual({ content: '', matched: 0, total: 0, unit: 'lines' });
  });
});

// ---------------------------------------------------------------------------------------------
// filterOriginalAsync against the synchronous reference

/** The reference's answer, or 'throws' (a row too deep for JSON.stringify). */
function reference(original: string, query: string): FilteredOriginal | 'throws' {
  try {
    return filterOriginal(original, query);
  } catch {
    return 'throws';
  }
}

async function expectSameAsReference(original: string, query: string, sliceChars?: number): Promise<void> {
  const expected = reference(original, query);
  const got = await filterOriginalAsync(original, query, { sliceChars });
  if (expected === 'throws') expect(got.unit).toBe('lines');
  else expect(got).toEqual(expected);
}

/** Characters that trip a scanner: structure inside strings, escapes, non-ASCII, a lone surrogate, case-mapping oddities. */
const CHARS = ['a', 'B', 'x', '0', '-', ' ', '[', ']', '{', '}', '"', '\\', '/', ',', ':', '\n', '\r', '\t', '\u0001', 'é', 'Σ', 'İ', '日', '😀', '\u2028', '\ud800', '\u00a0'];
const hex4 = (c: number, upper: boolean) => (upper ? c.toString(16).toUpperCase() : c.toString(16)).padStart(4, '0');
const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** A JSON string literal, each UTF-16 unit written raw, as a short escape, or as \uXXXX (either case). */
const jsonString = fc.array(fc.tuple(fc.constantFrom(...CHARS), fc.nat(3)), { maxLength: 6 }).map((units) =>
  units
    .flatMap(([s, how]) => [...s].flatMap((ch) => (ch.length === 2 ? [ch[0], ch[1]] : [ch])).map((u) => [u, how] as const))
    .reduce((out, [u, how]) => {
      const code = u.charCodeAt(0);
      const mustEscape = u === '"' || u === '\\' || code < 0x20;
      if (how === 0 && !mustEscape) return out + u;
      if (how === 1 && SHORT[u]) return out + SHORT[u];
      return `${out}\\u${hex4(code, how === 3)}`;
    }, '"')
    .concat('"'),
);
const NUMBERS = ['0', '-0', '7', '12', '1.0', '1.50', '1e2', '1E+2', '2e-3', '-0.0e0', '123456789012345678901234567890', '1e400', '4294967295'];
/** What JSON.parse refuses: leading zeros, bare signs and points, hex, cut literals. */
const NOT_JSON = ['01', '-01', '00', '-', '+1', '1.', '.5', '1e', '1e+', '1.e3', '0x1', 'tru', 'nul', 'True', 'NaN'];
const scalar = fc.oneof(
  { arbitrary: jsonString, weight: 6 },
  { arbitrary: fc.constantFrom(...NUMBERS, 'true', 'false', 'null'), weight: 6 },
  { arbitrary: fc.constantFrom(...NOT_JSON), weight: 1 },
);
const ws = fc.constantFrom('', '', '', ' ', '\n', '\r\n  ', '\t');
/** Keys that matter to value order: array indices (first, ascending), non-indices that look numeric, repeats (also escaped), `__proto__`. */
const key = fc.oneof(fc.constantFrom('"a"', '"b"', '"\\u0061"', '"0"', '"1"', '"10"', '"01"', '"-0"', '"4294967294"', '"4294967295"', '"__proto__"', '"rows"', '""'), jsonString);

const { value, rows, object } = fc.letrec<{ value: string; array: string; object: string; rows: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('rows'), tie('object'), tie('array')),
  array: fc
    .tuple(fc.array(fc.tuple(ws, tie('value'), ws), { maxLength: 3 }), ws)
    .map(([items, w]) => (items.length ? `[${items.map(([a, v, b]) => a + v + b).join(',')}]` : `[${w}]`)),
  rows: fc.tuple(fc.array(fc.tuple(ws, tie('object'), ws), { minLength: 1, maxLength: 4 }), ws).map(([items]) => `[${items.map(([a, v, b]) => a + v + b).join(',')}]`),
  object: fc
    .tuple(fc.array(fc.tuple(ws, key, ws, ws, tie('value'), ws), { maxLength: 4 }), ws)
    .map(([entries, w]) => (entries.length ? `{${entries.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',')}}` : `{${w}}`)),
}));

/** Mostly valid JSON whose top level is an array or an object; sometimes cut short, with a character slipped in, or behind a BOM; or lines. */
const document = fc.tuple(ws, fc.oneof(rows, object, object, value), ws).map(([a, t, b]) => a + t + b);
const original = fc.oneof(
  { arbitrary: document, weight: 6 },
  {
    arbitrary: fc.tuple(document, fc.nat(), fc.constantFrom(',', ']', '}', '"', 'x', ' ', '\u00a0', '\u0001', '\\', '\n', '{', '[', '0', ':')).map(([t, at, ch]) => {
      const i = at % (t.length + 1);
      return t.slice(0, i) + ch + t.slice(i);
    }),
    weight: 3,
  },
  { arbitrary: fc.tuple(document, fc.nat()).map(([t, at]) => t.slice(0, at % (t.length + 1))), weight: 1 },
  { arbitrary: document.map((t) => `\ufeff${t}`), weight: 1 },
  {
    arbitrary: fc
      .array(fc.oneof(jsonString, fc.string({ maxLength: 12 }), fc.constant('')), { maxLength: 6 })
      .chain((lines) => fc.constantFrom('\n', '\r\n').map((eol) => lines.join(eol))),
    weight: 1,
  },
);
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('a', 'b', 'é', 'σ', 'ς', 'i̇', '"', '[', '{', '\\\\', 'a b', '"a b"', '0', '1', 'x', '😀', '\\u0061', '"rows":'),
  fc.string({ maxLength: 6 }),
);
const slice = fc.constantFrom(1, 2, 3, 5, 17, 1 << 20);

describe('filterOriginalAsync', () => {
  test('property: the same answer as the synchronous reference, whatever the slice size', async () => {
    await fc.assert(
      fc.asyncProperty(original, query, slice, async (o, q, n) => expectSameAsReference(o, q, n)),
      { numRuns: 2000 },
    );
  });

  test('property: larger documents (many rows, nested payloads, ties between arrays), by rows and by one-character slices', async () => {
    const row = fc.dictionary(
      fc.constantFrom('id', 'status', 'note', '0', '1', 'a"b', '[x]'),
      fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.constant(null)),
      { maxKeys: 4 },
    );
    const doc = fc.oneof(
      fc.array(row, { minLength: 1, maxLength: 60 }).map((rows) => JSON.stringify(rows, null, rows.length % 3)),
      fc
        .tuple(fc.array(row, { maxLength: 30 }), fc.array(row, { maxLength: 30 }), fc.array(fc.oneof(row, fc.integer()), { maxLength: 30 }))
        .map(([a, b, c]) => JSON.stringify({ meta: { page: 1, tags: a.slice(0, 2) }, data: { a, b, nested: { c, deeper: { b } } }, '2': b.slice(0, 1) })),
    );
    await fc.assert(
      fc.asyncProperty(doc, query, fc.constantFrom(1, 7, 64), async (o, q, n) => expectSameAsReference(o, q, n)),
      { numRuns: 300 },
    );
  });

  test('value order decides between equally long arrays: array-index keys first (ascending), a repeated key keeps its first place', async () => {
    const cases = [
      '{"b":[{"k":"b"}],"1":[{"k":"1"}]}',
      '{"b":[{"k":"b"}],"4294967295":[{"k":"not an index"}],"4294967294":[{"k":"index"}]}',
      '{"b":[{"k":"b"}],"4294967295":[{"k":"not an index"}],"01":[{"k":"not an index either"}]}',
      '{"a":1,"b":[{"k":"b"}],"a":[{"k":"a"}]}',
      '{"a":[{"k":"a"},{"k":"a2"}],"b":[{"k":"b"}],"\\u0061":"gone"}',
      '{"x":{"y":[{"k":"deep"},{"k":"deep2"}]},"z":[{"k":"z"},{"k":"z2"}]}',
      '{"__proto__":[{"k":"proto"}]}',
    ];
    for (const c of cases) await expectSameAsReference(c, '', 1);
    expect((await filterOriginalAsync(cases[0], '')).content).toBe('[{"k":"1"}]');
    expect((await filterOriginalAsync(cases[1], '')).content).toBe('[{"k":"index"}]');
    expect((await filterOriginalAsync(cases[2], '')).content).toBe('[{"k":"b"}]');
    expect((await filterOriginalAsync(cases[3], '')).content).toBe('[{"k":"a"}]');
    expect((await filterOriginalAsync(cases[4], '')).content).toBe('[{"k":"b"}]');
    expect((await filterOriginalAsync(cases[5], '')).content).toBe('[{"k":"deep"},{"k":"deep2"}]');
  });

  test('the search reaches 16 objects under the top-level one, no deeper; deep nesting is scanned without recursion', async () => {
    const at = (depth: number) => `${'{"o":'.repeat(depth)}{"rows":[{"k":1}]}${'}'.repeat(depth)}`;
    for (const d of [15, 16, 17, 40]) await expectSameAsReference(at(d), 'k', 3);
    expect((await filterOriginalAsync(at(16), 'k')).unit).toBe('rows');
    expect((await filterOriginalAsync(at(17), 'k')).unit).toBe('lines');
    const deep = 100_000;
    await expectSameAsReference(`${'['.repeat(deep)}${']'.repeat(deep)}`, '');
    // A row too deep for JSON.stringify: the reference throws; this answers by lines.
    expect(await filterOriginalAsync(`[{"x":${'['.repeat(deep)}${']'.repeat(deep)}}]`, 'x')).toMatchObject({ unit: 'lines', matched: 1, total: 1 });
  });

  test('multi-megabyte originals with the default slices: the same bytes as the reference', async () => {
    const tickets = Array.from({ length: 12_000 }, (_, i) => ({
      id: i,
      status: i % 7 === 0 ? 'refunded' : 'open',
      note: `ticket ${i} "quoted" [x] {y} é 日`,
      tags: [{ t: i % 3 }],
    }));
    const json = JSON.stringify({ meta: { tags: [{ t: 'refunded' }] }, data: { tickets } }, null, 1);
    const log = Array.from({ length: 40_000 }, (_, i) => `2024-05-01 ${i % 9 === 0 ? 'ERROR disk full' : 'INFO ok'} request ${i}`).join('\r\n');
    expect(json.length).toBeGreaterThan(1.5 * 1024 * 1024);
    for (const q of ['refunded', '"[x] {y}"', 'nothing-like-this', '']) await expectSameAsReference(json, q);
    for (const q of ['error "disk full"', 'request 1']) await expectSameAsReference(log, q);
  });

  test('gives the event loop turns while it works', async () => {
    const original = JSON.stringify(Array.from({ length: 2_000 }, (_, i) => ({ id: i, note: `row ${i}` })));
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    const r = await filterOriginalAsync(original, 'row', { sliceChars: 1024 });
    done = true;
    expect(r.matched).toBe(2_000);
    // About one turn per 1,024 characters scanned and per 1,024 of rows matched.
    expect(turns).toBeGreaterThan(original.length / 1024);
  });

  test('stops when its signal aborts: before it starts, or between two slices', async () => {
    const original = Array.from({ length: 5_000 }, (_, i) => `line ${i}`).join('\n');
    const gone = new AbortController();
    gone.abort(new Error('gone'));
    await expect(filterOriginalAsync(original, 'line', { signal: gone.signal })).rejects.toThrow('gone');

    const controller = new AbortController();
    let turns = 0;
    const spin = () => {
      if (++turns === 3) controller.abort(new Error('client closed'));
      else setImmediate(spin);
    };
    setImmediate(spin);
    await expect(filterOriginalAsync(original, 'line', { signal: controller.signal, sliceChars: 64 })).rejects.toThrow('client closed');
    // The same call, not aborted, gets through.
    expect((await filterOriginalAsync(original, 'line', { sliceChars: 64 })).matched).toBe(5_000);
  });
});
