import fc from 'fast-check';
import { compressJson, hasUnsafeNumber, minifyJsonText } from '../../lib/compressor/json';
import { profileRows } from '../../lib/compressor/json-profile';
import { checkJsonRetention } from '../../lib/compressor/retention';
import { tokenCounterFor } from '../../lib/compressor/tokens';
import { generated, sharedToolOutputs } from './fixtures';

const o200k = tokenCounterFor('gpt-4o');
const shared = sharedToolOutputs();

function summarised(text: string, options = {}) {
  const result = compressJson(text, options);
  if (result === null) throw new Error('not compressed');
  return { ...result, value: JSON.parse(result.text) };
}

describe('JSON arrays of similar objects (orders.json from the Claude Code session)', () => {
  const { text, value, arraysSummarised } = summarised(shared.ordersJson);
  const orders = value.orders;

  it('replaces the array by a summary and keeps the fields around it', () => {
    expect(arraysSummarised).toBe(1);
    expect(value.page).toBe(1);
    expect(value.next).toBe('cursor-abc');
    expect(orders._rows).toBe(90);
    expect(orders._omitted).toBe(90 - orders._data.length);
  });

  it('states every value of the low-cardinality fields with its count, and the numeric ranges', () => {
    expect(orders._values.status).toEqual({ paid: 53, pending: 19, refunded: 18 });
    expect(orders._values['customer.tier']).toEqual({ gold: 32, bronze: 31, silver: 27 });
    expect(orders._same).toEqual({ currency: 'USD' });
    expect(orders._range.id).toEqual([1000, 1089]);
    expect(orders._range.total_cents).toEqual([636, 98422]);
  });

  it('shows first, last and the min/max rows as a table with their original index', () => {
    expect(orders._columns[0]).toBe('#');
    const indexes = orders._data.map((row: unknown[]) => row[0]);
    expect(indexes[0]).toBe(0);
    expect(indexes[indexes.length - 1]).toBe(89);
    const totalCents = orders._columns.indexOf('total_cents');
    const shownTotals = orders._data.map((row: unknown[]) => row[totalCents]);
    expect(shownTotals).toEqual(expect.arrayContaining([636, 98422]));
  });

  it('passes every retention check', () => {
    const report = checkJsonRetention(shared.ordersJson, text);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(report.checks.length).toBeGreaterThanOrEqual(5);
  });

  it('saves at least 85% of the tokens', () => {
    expect(o200k.count(text) / o200k.count(shared.ordersJson)).toBeLessThan(0.15);
  });
});

describe('JSON search result (tickets from the OpenAI agent)', () => {
  const { text, value } = summarised(shared.ticketsJson);

  it('keeps every error-like row ("Checkout fails with 502") whole', () => {
    const source = JSON.parse(shared.ticketsJson).tickets as { id: string; title: string }[];
    const failing = source.filter((t) => t.title === 'Checkout fails with 502').map((t) => t.id);
    expect(failing).toHaveLength(25);
    const idColumn = value.tickets._columns.indexOf('id');
    const shownIds = value.tickets._data.map((row: unknown[]) => row[idColumn]);
    expect(shownIds).toEqual(expect.arrayContaining(failing));
  });

  it('writes the constant summary once and the non-ASCII text as characters', () => {
    expect(value.tickets._same.summary).toContain('Müller GmbH · 東京 office');
    expect(text).not.toContain('\\u00fc');
    expect(value.total).toBe(120);
  });

  it('passes every retention check', () => {
    expect(checkJsonRetention(shared.ticketsJson, text).passed).toBe(true);
  });
});

describe('generated events.json with planted anomalies', () => {
  const source = generated('events.json');
  const { text, value } = summarised(source);
  const shownRow = (index: number) => value._data.find((row: unknown[]) => row[0] === index);

  it('keeps the timeout row, the latency outlier, the rare plan and the null user id', () => {
    const column = (name: string) => value._columns.indexOf(name);
    expect(shownRow(57)[column('error')]).toBe('upstream timeout after 30000 ms (billing-db)');
    expect(shownRow(57)[column('status')]).toBe(504);
    expect(shownRow(91)[column('latency_ms')]).toBe(9870);
    expect(shownRow(112)[column('user.plan')]).toBe('enterprise');
    expect(shownRow(133)[column('user.id')]).toBeNull();
  });

  it('says why each shown row is shown', () => {
    const profile = profileRows(JSON.parse(source))!;
    expect(profile.mustKeep.get(57)).toEqual(expect.arrayContaining(['error-like', 'rare:status', 'max:latency_ms']));
    expect(profile.mustKeep.get(91)).toEqual(['outlier:latency_ms']);
    expect(profile.mustKeep.get(112)).toEqual(['rare:user.plan']);
    expect(profile.mustKeep.get(133)).toEqual(['null:user.id']);
  });

  it('counts values of scalar fields only (a field of arrays is shown in the rows)', () => {
    expect(value._values['user.plan']).toEqual({ pro: 55, free: 50, team: 44, enterprise: 1 });
    expect(value._values.tags).toBeUndefined();
    expect(value._columns).toContain('tags');
  });

  it('passes every retention check and saves at least 85%', () => {
    expect(checkJsonRetention(source, text).passed).toBe(true);
    expect(o200k.count(text) / o200k.count(source)).toBeLessThan(0.15);
  });
});

describe('JSON structure handling', () => {
  const rows = (n: number, extra: (i: number) => object = () => ({})) => Array.from({ length: n }, (_, i) => ({ id: i, state: 'ok', score: (i * 37) % 100, ...extra(i) }));

  it('summarises row arrays at any depth, including inside shown rows', () => {
    const doc = {
      data: {
        groups: [
          { name: 'a', members: rows(20) },
          { name: 'b', members: rows(3) },
        ],
      },
      list: rows(12, (i) => ({ children: rows(10 + i) })),
    };
    const { value, arraysSummarised } = summarised(JSON.stringify(doc, null, 2));
    expect(value.data.groups[0].members._rows).toBe(20);
    expect(value.data.groups[1].members).toEqual(rows(3)); // short: kept as it is
    expect(value.list._rows).toBe(12);
    const childrenColumn = value.list._columns.indexOf('children');
    expect(value.list._data[0][childrenColumn]._rows).toBe(10);
    expect(arraysSummarised).toBeGreaterThanOrEqual(3);
    expect(checkJsonRetention(JSON.stringify(doc), JSON.stringify(value)).passed).toBe(true);
  });

  it('only minifies JSON without long arrays, and the value is unchanged', () => {
    const doc = { name: 'svc', replicas: [1, 2, 3], spec: { image: 'x:1', env: { A: '1', B: 'two' } }, ok: true, none: null };
    const result = compressJson(JSON.stringify(doc, null, 4))!;
    expect(result.arraysSummarised).toBe(0);
    expect(JSON.parse(result.text)).toEqual(doc);
    expect(result.text).toBe(JSON.stringify(doc));
  });

  it('never re-serialises numbers JSON.parse would change (ids past 2^53)', () => {
    const text = `[\n  {"id": 12345678901234567890, "v": 1.50},\n  {"id": 12345678901234567891, "v": 2}\n]`;
    const result = compressJson(text)!;
    expect(result.text).toBe('[{"id":12345678901234567890,"v":1.50},{"id":12345678901234567891,"v":2}]');
    expect(minifyJsonText('{ "a" : "x  y",\n "b": [ 1 ] }')).toBe('{"a":"x  y","b":[1]}');
  });

  it('looks for unsafe numbers in number literals only, not in strings', () => {
    const deployments = Array.from({ length: 20 }, (_, i) => ({ id: i, commit: i === 3 ? '3e105ab' : `c0ffee${i}`, build: '12345678901234567890', state: 'ok' }));
    const result = compressJson(JSON.stringify(deployments, null, 2))!;
    expect(result.arraysSummarised).toBe(1);
    expect(hasUnsafeNumber('{"a":"1e999","b":"12345678901234567"}')).toBe(false);
    expect(hasUnsafeNumber('{"a":1e999}')).toBe(true);
    expect(hasUnsafeNumber('[1.5E+308]')).toBe(true);
    expect(hasUnsafeNumber('[12345678901234567]')).toBe(true);
    expect(hasUnsafeNumber('[1e99, 123456789012345, "\\"]')).toBe(false);
    // Outside strings it is the old rule: the same verdict as the regex on the text with strings blanked.
    const oldRule = /\d{16,}|[eE][+-]?\d{3,}/;
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(hasUnsafeNumber(text)).toBe(oldRule.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""')));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads JSON Lines as rows', () => {
    const lines = rows(30, (i) => ({ msg: i === 17 ? 'request failed: timeout' : 'served' }))
      .map((r) => JSON.stringify(r))
      .join('\n');
    const { value } = summarised(lines);
    expect(value._rows).toBe(30);
    expect(value._data.map((r: unknown[]) => r[0])).toContain(17);
  });

  it('shows rows of different shapes as objects keyed by index', () => {
    const mixed = rows(16).map((r, i) => (i === 5 ? { ...r, retry_after: 30 } : r));
    const { value, text } = summarised(JSON.stringify(mixed));
    expect(value._data['5']).toEqual(mixed[5]);
    expect(checkJsonRetention(JSON.stringify(mixed), text).passed).toBe(true);
  });

  it('treats keys like __proto__ as data', () => {
    const text = `[${Array.from({ length: 10 }, (_, i) => `{"__proto__":"p${i % 2}","id":${i}}`).join(',')}]`;
    const { value } = summarised(text);
    expect(value._columns).toEqual(['#', '__proto__', 'id']);
    expect(Object.prototype.hasOwnProperty.call(value._values, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(value._values)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).p0).toBeUndefined();
  });

  it('shows more rows when a higher target_ratio is asked, never fewer anomalies', () => {
    const data = JSON.stringify(rows(200, (i) => ({ state: i === 150 ? 'error' : 'ok' })));
    const tight = summarised(data).value;
    const loose = summarised(data, { targetRatio: 0.25 }).value;
    expect(loose._data.length).toBeGreaterThanOrEqual(50);
    expect(loose._data.length).toBeGreaterThan(tight._data.length);
    for (const v of [tight, loose]) expect(v._data.map((r: unknown[]) => r[0])).toContain(150);
    expect(compressJson(data, { targetRatio: 1 })!.arraysSummarised).toBe(0);
  });

  it('gives the same bytes for the same input', () => {
    const a = compressJson(shared.ticketsJson)!.text;
    const b = compressJson(shared.ticketsJson)!.text;
    expect(a).toBe(b);
  });

  it('declines text that is not JSON', () => {
    expect(compressJson('{"a": 1, oops')).toBeNull();
  });
});
