/**
 * Tables with a header row: CSV, TSV, pipe tables (Markdown, psql) and whitespace-aligned columns
 * (`kubectl get`, `docker ps`). Strict on purpose: every data row must have the header's number of
 * cells (aligned tables: cells starting at the header's column starts), the header cells must read
 * like column names, and there must be enough rows. Anything else is not a table and stays text.
 * Each line is scanned once, quotes included (no backtracking regex).
 */
import { MIN_ROWS } from './json-profile';

export type TableFormat = 'csv' | 'tsv' | 'pipe' | 'aligned';

export interface TableRow {
  /** The row's line as it was. */
  line: string;
  cells: string[];
}

export interface ParsedTable {
  format: TableFormat;
  /** Lines before the rows, verbatim: the header, and a pipe table's separator line. */
  head: string[];
  columns: string[];
  rows: TableRow[];
  /** Lines after the rows, verbatim (psql's `(200 rows)`). */
  tail: string[];
}

/** Lines after the rows that are not rows (a footer); more than this and it is not a table. */
const MAX_TAIL_LINES = 3;

/** A column name: starts with a letter, `_` or `#`, then name characters (a quoted CSV name may hold a comma), at most 48 in all. */
const HEADER_CELL = /^[A-Za-z_#\u00c0-\uffff][\w #%()./:,\u00c0-\uffff-]{0,47}$/;

/** A number as a cell holds it (the table transform reads such cells as numbers). */
export const NUMBER_CELL = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/;

/** Splits a CSV/TSV line; quoted cells may hold the delimiter and `""`. Null when a quote is unbalanced. */
export function splitDelimited(line: string, delimiter: string): string[] | null {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let cell = '';
      let j = i + 1;
      for (;;) {
        const close = line.indexOf('"', j);
        if (close === -1) return null;
        cell += line.slice(j, close);
        if (line[close + 1] === '"') {
          cell += '"';
          j = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== delimiter) return null;
      cells.push(cell);
    } else {
      const end = line.indexOf(delimiter, i);
      cells.push(line.slice(i, end === -1 ? line.length : end).trim());
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return cells;
    i++; // past the delimiter
  }
}

/** `| a | b |` or psql's ` a | b `: the cells between pipes, trimmed. */
function splitPipes(line: string): string[] {
  const cells = line.split('|').map((cell) => cell.trim());
  if (line.trimStart().startsWith('|')) cells.shift();
  if (line.trimEnd().endsWith('|')) cells.pop();
  return cells;
}

/** `|---|:---:|`, `----+-----`. */
function isPipeSeparator(line: string): boolean {
  return /^[\s|:+-]+$/.test(line) && line.includes('-');
}

/** Where each column of an aligned header starts: after a run of two or more spaces. */
function alignedStarts(header: string): number[] | null {
  if (header.length === 0 || header[0] === ' ') return null;
  const starts = [0];
  for (let i = 1; i < header.length; i++) {
    if (header[i] !== ' ' && header[i - 1] === ' ' && header[i - 2] === ' ') starts.push(i);
  }
  return starts.length >= 2 ? starts : null;
}

/** An aligned row's cells, or null when a cell runs over a column start (the row is not aligned). */
function splitAligned(line: string, starts: readonly number[]): string[] | null {
  const cells: string[] = [];
  for (let c = 0; c < starts.length; c++) {
    const start = starts[c];
    if (c > 0 && start < line.length && line[start - 1] !== ' ') return null;
    const end = c + 1 < starts.length ? starts[c + 1] : line.length;
    cells.push(start < line.length ? line.slice(start, end).trim() : '');
  }
  return cells;
}

function splitterFor(format: TableFormat, header: string): ((line: string) => string[] | null) | null {
  if (format === 'csv') return (line) => splitDelimited(line, ',');
  if (format === 'tsv') return (line) => splitDelimited(line, '\t');
  if (format === 'pipe') return splitPipes;
  const starts = alignedStarts(header);
  return starts === null ? null : (line) => splitAligned(line, starts);
}

function tryFormat(lines: readonly string[], format: TableFormat): ParsedTable | null {
  const split = splitterFor(format, lines[0]);
  const columns = split?.(lines[0]);
  if (split === null || columns === null || columns === undefined || columns.length < 2) return null;
  if (new Set(columns).size !== columns.length || !columns.every((name) => HEADER_CELL.test(name))) return null;
  const head = [lines[0]];
  let first = 1;
  if (format === 'pipe') {
    if (lines.length < 2 || !isPipeSeparator(lines[1])) return null;
    head.push(lines[1]);
    first = 2;
  }
  const rows: TableRow[] = [];
  let end = first;
  for (; end < lines.length; end++) {
    const cells = lines[end].length === 0 ? null : split(lines[end]);
    if (cells === null || cells.length !== columns.length) break;
    rows.push({ line: lines[end], cells });
  }
  const tail = lines.slice(end);
  if (rows.length < MIN_ROWS || tail.length > MAX_TAIL_LINES) return null;
  // Two columns of words could be prose with one comma a line: a number column says it is data.
  if (columns.length === 2 && ![0, 1].some((c) => rows.every((row) => NUMBER_CELL.test(row.cells[c])))) return null;
  return { format, head, columns, rows, tail };
}

/** Parses a table, or returns null. Leading and trailing blank lines are ignored. */
export function parseTable(text: string): ParsedTable | null {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[0].trim().length === 0) lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim().length === 0) lines.pop();
  return parseTableLines(lines);
}

/** The same on lines (detection passes its sample lines as they are). */
export function parseTableLines(lines: readonly string[]): ParsedTable | null {
  if (lines.length < MIN_ROWS + 1) return null;
  const header = lines[0];
  const formats: TableFormat[] = [];
  if (header.includes('\t')) formats.push('tsv');
  if (header.includes('|')) formats.push('pipe');
  if (header.includes(',')) formats.push('csv');
  if (header.includes('  ')) formats.push('aligned');
  for (const format of formats) {
    const table = tryFormat(lines, format);
    if (table !== null) return table;
  }
  return null;
}
