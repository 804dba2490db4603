/**
 * The answerability bench's generators (bench/answerability/). Its figures are only as good as its
 * answer keys, so each key is recomputed here by parsing the generated output (JSON.parse, CSV and
 * psql cells, lines), independently of the data model the generator built it from, and must match
 * exactly. Also: the same seed gives the same bytes, and the answers are a minority of the output.
 */
import { allCases, GENERATORS, generatedCases } from '../../bench/answerability/cases';
import { fixtureCases } from '../../bench/answerability/fixtures';
import type { AnswerCase, Criterion } from '../../bench/answerability/types';

const nonEmptyLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

function at(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);
}

/** The answer set and the number of rows/lines it was drawn from, from the output alone. */
function recompute(output: string, criterion: Criterion): { items: string[]; units: number } {
  switch (criterion.unit) {
    case 'json-rows': {
      const rows = at(JSON.parse(output), criterion.path) as Record<string, unknown>[];
      const matches = (row: Record<string, unknown>) => Object.entries(criterion.where).every(([field, value]) => at(row, field.split('.')) === value);
      return { items: rows.filter(matches).map((row) => String(row[criterion.idField])), units: rows.length };
    }
    case 'csv-rows': {
      const [header, ...rows] = nonEmptyLines(output);
      const columns = header.split(',');
      const matches = (line: string) => {
        const cells = line.split(',');
        return Object.entries(criterion.where).every(([column, value]) => cells[columns.indexOf(column)] === value);
      };
      return { items: rows.filter(matches), units: rows.length };
    }
    case 'table-rows': {
      const [header, rule, ...rest] = nonEmptyLines(output);
      expect(rule).toMatch(/^-+(\+-+)+$/);
      expect(rest[rest.length - 1]).toMatch(/^\(\d+ rows\)$/);
      const rows = rest.slice(0, -1);
      const columns = header.split('|').map((c) => c.trim());
      const matches = (line: string) => {
        const cells = line.split('|').map((c) => c.trim());
        return Object.entries(criterion.where).every(([column, value]) => cells[columns.indexOf(column)] === value);
      };
      return { items: rows.filter(matches), units: rows.length };
    }
    case 'lines': {
      const lines = nonEmptyLines(output);
      return { items: lines.filter((l) => criterion.all.every((term) => l.includes(term))), units: lines.length };
    }
  }
}

const SEEDS = [1, 2];
const cases: AnswerCase[] = SEEDS.flatMap((seed) => generatedCases(seed, 36).map((c) => ({ ...c, id: `seed ${seed} ${c.id}` })));

describe('answerability generators', () => {
  test('the same seed gives the same cases, byte for byte; another seed gives other outputs', () => {
    expect(generatedCases(1, 36)).toEqual(generatedCases(1, 36));
    const [a, b] = [generatedCases(1, 10), generatedCases(3, 10)];
    expect(a.filter((c, i) => c.output === b[i].output)).toHaveLength(0);
  });

  test('at least 30 cases per kind by default, every template used, ids unique', () => {
    const run = allCases(1, 36);
    for (const [kind, generators] of Object.entries(GENERATORS)) {
      const ofKind = run.filter((c) => c.kind === kind);
      expect(ofKind.length).toBeGreaterThanOrEqual(30);
      expect(new Set(ofKind.map((c) => c.variant)).size).toBe(generators.length);
    }
    expect(new Set(run.map((c) => c.id)).size).toBe(run.length);
  });

  test.each(cases.map((c) => [c.id, c] as const))('%s: the answer key is exactly what parsing the output finds', (_id, c) => {
    const { items, units } = recompute(c.output, c.criterion as Criterion);
    expect(c.answerItems).toEqual(items);
    // A minority of the rows/lines (at most 15% planted, rounding and the 2-item floor aside), never none.
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(items.length / units).toBeLessThanOrEqual(0.16);
    // Items are distinct, so "present" counts each answer once.
    expect(new Set(items).size).toBe(items.length);
  });

  test('sizes are realistic: JSON 80–400 rows, logs 300–2,000 lines, listings over 20–80 files, CSV/psql 100–400 rows', () => {
    for (const c of cases) {
      const criterion = c.criterion as Criterion;
      const lines = nonEmptyLines(c.output);
      if (c.kind === 'json' && criterion.unit === 'json-rows') {
        const rows = at(JSON.parse(c.output), criterion.path) as unknown[];
        expect(rows.length).toBeGreaterThanOrEqual(80);
        expect(rows.length).toBeLessThanOrEqual(400);
      }
      if (c.kind === 'log') expect(lines.length).toBeGreaterThanOrEqual(300);
      if (c.kind === 'log') expect(lines.length).toBeLessThanOrEqual(2000);
      if (c.kind === 'listing') {
        const files = new Set(lines.map((l) => l.slice(0, l.indexOf(':'))));
        expect(files.size).toBeGreaterThanOrEqual(20);
        expect(files.size).toBeLessThanOrEqual(81);
      }
      if (c.kind === 'table') expect(lines.length).toBeGreaterThanOrEqual(101);
      if (c.kind === 'table') expect(lines.length).toBeLessThanOrEqual(403);
    }
  });

  test('fixture cases: every answer item is in its output, and there are answers', () => {
    for (const c of fixtureCases()) {
      expect(c.answerItems.length).toBeGreaterThan(0);
      for (const item of c.answerItems) expect(c.output).toContain(item);
    }
  });
});
