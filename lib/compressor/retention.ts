/**
 * Retention checks: mechanical proof that a compressed text still holds what a model needs to
 * answer from it. Each takes the original text and the compressed text and says, check by check,
 * what survived. Used by the tests and by bench/compressor.ts.
 *
 * - JSON: for every long array of similar objects, the row count is stated, every value of each
 *   low-cardinality field is there with its count, the min and max of each numeric field are there,
 *   and every row the profile marks (rare, error-like, null/missing, outlier, min/max, first, last) is shown
 *   whole, at its index. JSON that was only minified must parse to the same value.
 * - Logs: every distinct line template is there with its count (folded as `[×N]`, or its lines
 *   verbatim), every severe line verbatim with its count, every trace line verbatim and in order.
 * - Listings: every file, and in its group every line number with its text.
 */
import { detectKind } from './detect';
import { Json, JsonObject, isPlainObject, isRowArray, profileRows, RowsProfile } from './json-profile';
import { SUMMARY_KEYS, parseJsonOrLines } from './json';
import { groupListing, fileHeading, parseListing } from './listing';
import { FOLDED_LINE, classifyLogLines } from './log';
import { lineShape, templateLine } from './log-template';
import { cleanText } from './text';

export interface RetentionCheck {
  name: string;
  passed: boolean;
  /** What is missing, abridged. */
  detail?: string;
}

export interface RetentionReport {
  kind: 'json' | 'log' | 'listing' | 'text';
  passed: boolean;
  checks: RetentionCheck[];
}

function report(kind: RetentionReport['kind'], checks: RetentionCheck[]): RetentionReport {
  return { kind, passed: checks.every((c) => c.passed), checks };
}

function abridge(items: readonly string[]): string | undefined {
  if (items.length === 0) return undefined;
  const shown = items.slice(0, 3).map((item) => (item.length > 120 ? `${item.slice(0, 117)}...` : item));
  return `${items.length} missing: ${shown.join(' | ')}${items.length > 3 ? ' | ...' : ''}`;
}

function check(name: string, missing: readonly string[]): RetentionCheck {
  const detail = abridge(missing);
  return detail === undefined ? { name, passed: true } : { name, passed: false, detail };
}

// ---------------------------------------------------------------- JSON

function isSummary(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && typeof (value as Record<string, unknown>)[SUMMARY_KEYS.rows] === 'number';
}

/** Equal as JSON values, where a summarised array counts as equal to an array of its stated length. */
function sameValue(original: Json | undefined, output: unknown): boolean {
  if (Array.isArray(original) && isSummary(output)) return output[SUMMARY_KEYS.rows] === original.length;
  if (Array.isArray(original)) {
    return Array.isArray(output) && output.length === original.length && original.every((v, i) => sameValue(v, output[i]));
  }
  if (isPlainObject(original)) {
    if (!isPlainObject(output)) return false;
    const keys = Object.keys(original);
    return keys.length === Object.keys(output).length && keys.every((k) => Object.prototype.hasOwnProperty.call(output, k) && sameValue(original[k], output[k]));
  }
  return original === output;
}

function valueLabel(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The shown row `r` of a summary as path → cell, with the `_same` cells added; undefined if not shown. */
function shownRow(summary: Record<string, unknown>, r: number): Map<string, unknown> | undefined {
  const data = summary[SUMMARY_KEYS.data];
  const same = isPlainObject(summary[SUMMARY_KEYS.same]) ? (summary[SUMMARY_KEYS.same] as Record<string, unknown>) : {};
  if (Array.isArray(data)) {
    const columns = summary[SUMMARY_KEYS.columns];
    if (!Array.isArray(columns)) return undefined;
    const entry = data.find((row) => Array.isArray(row) && row[0] === r) as unknown[] | undefined;
    if (entry === undefined) return undefined;
    const cells = new Map<string, unknown>();
    columns.forEach((column, i) => {
      if (i > 0) cells.set(String(column), entry[i]);
    });
    for (const key of Object.keys(same)) cells.set(key, same[key]);
    return cells;
  }
  if (isPlainObject(data) && Object.prototype.hasOwnProperty.call(data, String(r))) {
    // Rows of different shapes are shown as objects: compare them whole, returned as one cell.
    return new Map([['', (data as Record<string, unknown>)[String(r)]]]);
  }
  return undefined;
}

function checkSummary(label: string, rows: readonly JsonObject[], profile: RowsProfile, summary: Record<string, unknown>, checks: RetentionCheck[]): void {
  const n = profile.rowCount;
  checks.push(check(`${label}: row count ${n} stated`, summary[SUMMARY_KEYS.rows] === n ? [] : [`_rows is ${String(summary[SUMMARY_KEYS.rows])}`]));

  const values = isPlainObject(summary[SUMMARY_KEYS.values]) ? (summary[SUMMARY_KEYS.values] as Record<string, unknown>) : {};
  const same = isPlainObject(summary[SUMMARY_KEYS.same]) ? (summary[SUMMARY_KEYS.same] as Record<string, unknown>) : {};
  const ranges = isPlainObject(summary[SUMMARY_KEYS.range]) ? (summary[SUMMARY_KEYS.range] as Record<string, unknown>) : {};
  const missingValues: string[] = [];
  let valueCount = 0;
  const missingRanges: string[] = [];
  let rangeCount = 0;
  for (const key of profile.keys) {
    const column = profile.columns.get(key)!;
    if (column.lowCardinality && column.values !== null) {
      for (const { value, count } of column.values.values()) {
        valueCount++;
        const counts = values[key];
        const listed =
          isPlainObject(counts) && ((counts as Record<string, unknown>)[valueLabel(value)] === count || (counts as Record<string, unknown>)[JSON.stringify(value)] === count);
        const constant = count === n && Object.prototype.hasOwnProperty.call(same, key) && sameValue(value, same[key]);
        if (!listed && !constant) missingValues.push(`${key}=${valueLabel(value)} (${count})`);
      }
    }
    if (column.numeric !== null && column.numeric.min !== column.numeric.max) {
      rangeCount++;
      const range = ranges[key];
      if (!Array.isArray(range) || range[0] !== column.numeric.min || range[1] !== column.numeric.max) {
        missingRanges.push(`${key} [${column.numeric.min}, ${column.numeric.max}]`);
      }
    }
  }
  checks.push(check(`${label}: all ${valueCount} values of low-cardinality fields, with counts`, missingValues));
  checks.push(check(`${label}: min and max of ${rangeCount} numeric fields`, missingRanges));

  const missingRows: string[] = [];
  for (const [r, reasons] of profile.mustKeep) {
    const shown = shownRow(summary, r);
    let whole: boolean;
    if (shown === undefined) whole = false;
    else if (shown.has('') && shown.size === 1) whole = sameValue(rows[r], shown.get(''));
    else {
      const flat = profile.flatRows[r];
      whole = flat.size === shown.size && [...flat].every(([key, cell]) => shown.has(key) && sameValue(cell, shown.get(key)));
    }
    if (!whole) missingRows.push(`row ${r} (${reasons.join(', ')})`);
  }
  checks.push(check(`${label}: ${profile.mustKeep.size} rows with rare, error-like, null, outlier or min/max values (and first, last) shown whole`, missingRows));
}

function walkJson(original: Json, output: unknown, path: string, checks: RetentionCheck[], structural: string[]): void {
  if (Array.isArray(original)) {
    if (isRowArray(original) && isSummary(output)) {
      const profile = profileRows(original);
      if (profile === null) structural.push(`${path}: summarised an array whose paths collide`);
      else checkSummary(path, original, profile, output, checks);
      return;
    }
    if (!Array.isArray(output) || output.length !== original.length) {
      structural.push(`${path}: array of ${original.length} not kept`);
      return;
    }
    original.forEach((item, i) => walkJson(item, output[i], `${path}[${i}]`, checks, structural));
    return;
  }
  if (isPlainObject(original)) {
    if (!isPlainObject(output)) {
      structural.push(`${path}: object not kept`);
      return;
    }
    for (const key of Object.keys(original)) {
      if (!Object.prototype.hasOwnProperty.call(output, key)) structural.push(`${path}.${key}: missing`);
      else walkJson(original[key], (output as Record<string, unknown>)[key], `${path}.${key}`, checks, structural);
    }
    return;
  }
  if (original !== output && !(typeof original === 'number' && typeof output === 'number' && Object.is(original, output))) {
    structural.push(`${path}: ${JSON.stringify(original)} became ${JSON.stringify(output)}`);
  }
}

export function checkJsonRetention(original: string, compressed: string): RetentionReport {
  const source = parseJsonOrLines(cleanText(original).trim());
  if (source === null) return report('json', [{ name: 'original parses as JSON', passed: false }]);
  let output: unknown;
  try {
    output = JSON.parse(compressed);
  } catch {
    return report('json', [{ name: 'output parses as JSON', passed: false }]);
  }
  const checks: RetentionCheck[] = [];
  const structural: string[] = [];
  walkJson(source.value, output, '$', checks, structural);
  checks.unshift(check('every value outside summarised arrays kept as it was', structural));
  return report('json', checks);
}

// ---------------------------------------------------------------- logs

export function checkLogRetention(original: string, compressed: string): RetentionReport {
  const lines = cleanText(original).split('\n');
  const roles = classifyLogLines(lines);
  const outLines = compressed.split('\n');

  // Output lines: verbatim ones (with how often each occurs), and folded ones by shape and count.
  const verbatim = new Map<string, number>();
  const folded = new Map<string, number[]>();
  for (const line of outLines) {
    const fold = FOLDED_LINE.exec(line);
    if (fold !== null) {
      verbatim.set(fold[2], (verbatim.get(fold[2]) ?? 0) + Number(fold[1]));
      const shape = lineShape(fold[2]);
      let counts = folded.get(shape);
      if (counts === undefined) folded.set(shape, (counts = []));
      counts.push(Number(fold[1]));
    } else verbatim.set(line, (verbatim.get(line) ?? 0) + 1);
  }

  const severeCounts = new Map<string, number>();
  const templates = new Map<string, { count: number; lines: string[] }>();
  for (let i = 0; i < lines.length; i++) {
    if (roles[i] === 'severe') severeCounts.set(lines[i], (severeCounts.get(lines[i]) ?? 0) + 1);
    if (roles[i] !== 'plain') continue;
    const { template } = templateLine(lines[i]);
    let entry = templates.get(template);
    if (entry === undefined) templates.set(template, (entry = { count: 0, lines: [] }));
    entry.count++;
    entry.lines.push(lines[i]);
  }

  const missingTemplates: string[] = [];
  for (const [template, { count, lines: members }] of templates) {
    const shape = lineShape(members[0]);
    const counts = folded.get(shape);
    const foldIndex = counts?.indexOf(count) ?? -1;
    if (counts !== undefined && foldIndex !== -1) {
      counts.splice(foldIndex, 1); // each folded line stands for one template
      continue;
    }
    // Not folded: then every line of the template must be there as it was.
    const needed = new Map<string, number>();
    for (const line of members) needed.set(line, (needed.get(line) ?? 0) + 1);
    const allThere = [...needed].every(([line, times]) => (verbatim.get(line) ?? 0) >= times);
    if (!allThere) missingTemplates.push(`${template} (×${count})`);
  }

  const missingSevere: string[] = [];
  for (const [line, count] of severeCounts) if ((verbatim.get(line) ?? 0) < count) missingSevere.push(line);

  // Trace lines verbatim and in their order: a subsequence of the output lines.
  const traceLines = lines.filter((_, i) => roles[i] === 'trace');
  const missingTrace: string[] = [];
  let cursor = 0;
  for (const line of traceLines) {
    let found = -1;
    for (let j = cursor; j < outLines.length; j++) {
      if (outLines[j] === line) {
        found = j;
        break;
      }
    }
    if (found === -1) missingTrace.push(line);
    else cursor = found + 1;
  }

  return report('log', [
    check(`all ${templates.size} line templates, with their counts`, missingTemplates),
    check(`all ${severeCounts.size} distinct ERROR/WARN/FATAL lines verbatim, with their counts`, missingSevere),
    check(`all ${traceLines.length} stack trace / traceback lines verbatim, in order`, missingTrace),
  ]);
}

// ---------------------------------------------------------------- listings

const GROUP_ROW = /^ {2}([\d,]+)([:-])(?: (.*))?$/;

export function checkListingRetention(original: string, compressed: string): RetentionReport {
  const files = groupListing(parseListing(cleanText(original)).entries);
  const outLines = compressed.split('\n');
  const missingFiles: string[] = [];
  const missingLines: string[] = [];
  const missingTexts: string[] = [];
  let lineCount = 0;
  for (const file of files) {
    // Rows are compared to the file's group in the output: heading, then its indented rows.
    const heading = outLines.indexOf(fileHeading(file));
    if (heading === -1) {
      missingFiles.push(file.path);
    }
    const shown = new Map<string, Set<number>>(); // `${sep}${text}` → line numbers
    const shownLines = new Set<number>();
    for (let j = heading + 1; heading !== -1 && j < outLines.length; j++) {
      const row = GROUP_ROW.exec(outLines[j]);
      if (row === null) break;
      const key = `${row[2]}${row[3] ?? ''}`;
      let set = shown.get(key);
      if (set === undefined) shown.set(key, (set = new Set()));
      for (const n of row[1].split(',')) {
        set.add(Number(n));
        shownLines.add(Number(n));
      }
    }
    for (const row of file.rows) {
      for (const line of row.lines) {
        lineCount++;
        if (!shownLines.has(line)) missingLines.push(`${file.path}:${line}`);
        else if (!shown.get(`${row.sep}${row.text}`)?.has(line)) missingTexts.push(`${file.path}:${line}${row.sep}${row.text}`);
      }
    }
  }
  return report('listing', [
    check(`all ${files.length} files`, missingFiles),
    check(`all ${lineCount} line numbers under their file`, missingLines),
    check(`the text of every listed line`, missingTexts),
  ]);
}

// ---------------------------------------------------------------- dispatch

/** Checks by the kind of the original. Text and code: only whitespace may have changed. */
export function checkRetention(original: string, compressed: string): RetentionReport {
  const kind = detectKind(cleanText(original));
  if (kind === 'json') return checkJsonRetention(original, compressed);
  if (kind === 'log') return checkLogRetention(original, compressed);
  if (kind === 'listing') return checkListingRetention(original, compressed);
  const squeeze = (text: string) => cleanText(text).replace(/\s+/g, '');
  return report('text', [check('every non-whitespace character kept, in order', squeeze(original) === squeeze(compressed) ? [] : ['text changed beyond whitespace'])]);
}
