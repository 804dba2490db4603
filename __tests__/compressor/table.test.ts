/**
 * Tables with a header row (CSV, TSV, pipe, aligned columns): parsed strictly, summarised like JSON
 * arrays, rows that matter kept as they were, a retrieval marker for the rest.
 */
import fc from 'fast-check';
import { contentHash, markerHashes } from '../../lib/ccr';
import { compress } from '../../lib/compressor';
import { detectKind } from '../../lib/compressor/detect';
import { checkRetention, checkTableRetention } from '../../lib/compressor/retention';
import { compressTable } from '../../lib/compressor/table';
import { parseTable, splitDelimited } from '../../lib/compressor/table-parse';
import { tokenCounterFor } from '../../lib/compressor/tokens';
import { compressedOutput, openAiRequest, tickets } from './requests';

const o200k = tokenCounterFor('gpt-4o');

function ticketsCsv(p1: ReadonlySet<number>, seed = 1): string {
  const rows = tickets(p1, seed).map((t) => [t.id, t.priority, t.status, `"${t.title}, ${t.assignee}"`, t.created].join(','));
  return ['id,priority,status,"title, owner",created', ...rows].join('\n');
}

const pad = (text: string, width: number) => text.padEnd(width);

function pods(count: number, crashAt: number): string {
  const header = pad('NAME', 28) + pad('READY', 8) + pad('STATUS', 18) + pad('RESTARTS', 11) + 'AGE';
  const rows = Array.from(
    { length: count },
    (_, i) => pad(`api-7d9f-${i}`, 28) + pad('1/1', 8) + pad(i === crashAt ? 'CrashLoopBackOff' : 'Running', 18) + pad(i === crashAt ? '42' : '0', 11) + `${i + 1}d`,
  );
  return [header, ...rows].join('\n');
}

describe('parsing', () => {
  it('reads CSV with quoted cells, TSV, Markdown and psql pipe tables, and aligned columns', () => {
    const csv = parseTable(ticketsCsv(new Set()))!;
    expect(csv).toMatchObject({ format: 'csv', columns: ['id', 'priority', 'status', 'title, owner', 'created'], tail: [] });
    expect(csv.rows).toHaveLength(200);
    expect(splitDelimited('a,"b ""q"", c",,d', ',')).toEqual(['a', 'b "q", c', '', 'd']);
    expect(splitDelimited('a,"open', ',')).toBeNull();

    const tsv = ['host\tcpu\tmem', ...Array.from({ length: 9 }, (_, i) => `h${i}\t${i * 3}\t${i}GB`)].join('\n');
    expect(parseTable(tsv)).toMatchObject({ format: 'tsv', columns: ['host', 'cpu', 'mem'] });

    const markdown = ['| id | name | qty |', '|---|:---:|---:|', ...Array.from({ length: 9 }, (_, i) => `| ${i} | item ${i} | ${i * 2} |`)].join('\n');
    expect(parseTable(markdown)).toMatchObject({ format: 'pipe', columns: ['id', 'name', 'qty'], head: ['| id | name | qty |', '|---|:---:|---:|'] });

    const psql = [' id | name ', '----+------', ...Array.from({ length: 9 }, (_, i) => `  ${i} | n${i}`), '(9 rows)'].join('\n');
    expect(parseTable(psql)).toMatchObject({ format: 'pipe', columns: ['id', 'name'], tail: ['(9 rows)'] });

    expect(parseTable(pods(12, 3))).toMatchObject({ format: 'aligned', columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'] });
  });

  it('declines what is not a table', () => {
    const prose = Array.from({ length: 12 }, (_, i) => `Hello, world number ${['one', 'two'][i % 2]}`).join('\n');
    expect(parseTable(prose)).toBeNull(); // two columns of words
    expect(parseTable(['a,b,c', '1,2,3', '4,5'].join('\n'))).toBeNull(); // too short, ragged
    expect(parseTable(['1,2,3', ...Array.from({ length: 10 }, () => '4,5,6')].join('\n'))).toBeNull(); // no header
    const ragged = ['a,b,c', ...Array.from({ length: 10 }, (_, i) => (i === 4 ? '1,2' : '1,2,3'))].join('\n');
    expect(parseTable(ragged)).toBeNull();
    expect(parseTable(pods(12, 3).replace('api-7d9f-5   ', 'api-7d9f-5-very-long-name-x'))).toBeNull(); // a cell over a column start
  });

  it('stays linear and consistent on generated text (only the result is asserted)', () => {
    const piece = fc.constantFrom('"', '""', ',', '\t', '|', '  ', 'a', 'B', '1', '\n', '-', ' ');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 4000 }), (pieces) => {
        const table = parseTable(pieces.join(''));
        if (table !== null) for (const row of table.rows) expect(row.cells).toHaveLength(table.columns.length);
      }),
      { numRuns: 300 },
    );
    expect(splitDelimited(`"${'""'.repeat(50_000)}`, ',')).toBeNull();
  });

  it('detects CSV and aligned tables as tables', () => {
    expect(detectKind(ticketsCsv(new Set()))).toBe('table');
    expect(detectKind(pods(20, 3))).toBe('table');
  });
});

describe('the table transform', () => {
  it('keeps first, last and anomalous rows as they were, states counts, and marks what it left out', () => {
    const source = pods(60, 17);
    const response = compress({ model: 'gpt-4o', messages: [{ role: 'tool', content: source }] });
    const out = response.messages[0].content as string;
    expect(response.transforms_applied).toEqual([expect.stringMatching(/^table_rows:/)]);
    const lines = out.split('\n');
    for (const i of [0, 1, 18, 60]) expect(lines).toContain(source.split('\n')[i]);
    expect(out).toContain('"STATUS":{"Running":59,"CrashLoopBackOff":1}');
    expect(out).toContain('[... 16 rows ...]');
    expect(out.endsWith(`[57 of 60 rows omitted. Retrieve more: hash=${contentHash(source)}]`)).toBe(true);
    expect(response.ccr_hashes).toEqual([contentHash(source)]);
    expect(checkRetention(source, out).checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('keeps every row carrying a term of the request, and saves at least 70% on 200 rows', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 199 }), { minLength: 10, maxLength: 40 }), fc.integer(), (rows, seed) => {
        const p1 = new Set(rows);
        const source = ticketsCsv(p1, seed);
        const context = { question: 'Show the p1 tickets', toolName: 'sql', toolArguments: '{}' };
        const out = compressedOutput(compress(openAiRequest(context.question, 'sql', {}, source)));
        const lines = new Set(out.split('\n'));
        const sourceLines = source.split('\n');
        for (const r of p1) expect(lines.has(sourceLines[r + 1])).toBe(true);
        expect(o200k.count(out) / o200k.count(source)).toBeLessThan(0.3);
        expect(checkRetention(source, out, context).checks.filter((c) => !c.passed)).toEqual([]);
      }),
      { numRuns: 10 },
    );
  });

  it('leaves a table alone when every row matters or target_ratio is 1', () => {
    expect(compressTable(pods(20, 3), { targetRatio: 1 })).toBeNull();
    expect(compressTable(pods(20, 3), { targetRatio: 0.999 })).toBeNull();
    const source = pods(20, 3);
    expect(compress({ model: 'gpt-4o', messages: [{ role: 'tool', content: source }], config: { target_ratio: 1 } }).messages[0].content).toBe(source);
  });

  it('writes no marker without a hash, and the retention check fails without one', () => {
    const source = pods(40, 5);
    const bare = compressTable(source)!;
    expect(markerHashes(bare.text)).toEqual([]);
    expect(
      checkRetention(source, bare.text)
        .checks.filter((c) => !c.passed)
        .map((c) => c.name),
    ).toEqual(['a retrieval marker with the hash of the original, since something was left out']);
  });

  it('the retention check fails when a kept row or a count is gone', () => {
    const source = pods(40, 5);
    const out = compressTable(source, { retrievalHash: contentHash(source) })!.text;
    const crash = source.split('\n')[6];
    expect(checkTableRetention(source, out).passed).toBe(true);
    expect(checkTableRetention(source, out.replace(`${crash}\n`, '')).passed).toBe(false);
    expect(checkTableRetention(source, out.replace('"Running":39', '"Running":38')).passed).toBe(false);
  });
});
