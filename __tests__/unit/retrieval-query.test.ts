/**
 * filterOriginal: rows of a JSON array of objects (top level or nested), lines of anything else,
 * every term required, quoted phrases whole; never throws whatever it is given.
 */
import fc from 'fast-check';
import { filterOriginal, queryTerms } from '../../lib/retrieval-query';

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
