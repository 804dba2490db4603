/**
 * JSON retention: for every long array of similar objects, the row count is stated, every value of
 * each low-cardinality field is there with its count, the min and max of each numeric field are
 * there, every row the profile marks (rare, error-like, null/missing, outlier, min/max, first, last)
 * is shown whole at its index, and (given the context) every row carrying a salient term of the
 * request. JSON that was only minified must parse to the same value.
 */
import type { ToolOutputContext } from './context';
import { Json, JsonObject, isPlainObject, isRowArray, profileRows, RowsProfile } from './json-profile';
import { parseJsonOrLines } from './json';
import { RetentionCheck, RetentionReport, check, report } from './retention-report';
import { SUMMARY_KEYS } from './rows-summary';
import { TermMatcher } from './term-match';
import { termRowsOf } from './term-rows';
import { extractTerms } from './terms';
import { cleanText } from './text';

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

/** Is row `r` of the original shown whole (every cell, at its index)? */
function shownWhole(rows: readonly JsonObject[], profile: RowsProfile, summary: Record<string, unknown>, r: number): boolean {
  const shown = shownRow(summary, r);
  if (shown === undefined) return false;
  if (shown.has('') && shown.size === 1) return sameValue(rows[r], shown.get(''));
  const flat = profile.flatRows[r];
  return flat.size === shown.size && [...flat].every(([key, cell]) => shown.has(key) && sameValue(cell, shown.get(key)));
}

/** Row count, every value of the low-cardinality columns with its count, and numeric min/max, as a summary states them. */
export function checkColumnStats(label: string, profile: RowsProfile, summary: Record<string, unknown>, checks: RetentionCheck[]): void {
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
}

function checkSummary(label: string, rows: readonly JsonObject[], profile: RowsProfile, summary: Record<string, unknown>, checks: RetentionCheck[], matcher?: TermMatcher): void {
  checkColumnStats(label, profile, summary, checks);
  const missingRows: string[] = [];
  for (const [r, reasons] of profile.mustKeep) if (!shownWhole(rows, profile, summary, r)) missingRows.push(`row ${r} (${reasons.join(', ')})`);
  checks.push(check(`${label}: ${profile.mustKeep.size} rows with rare, error-like, null, outlier or min/max values (and first, last) shown whole`, missingRows));

  if (matcher !== undefined && matcher.terms.length > 0) {
    // The same choice the transform makes (term-match.ts), so the cut applies here too.
    const termRows = termRowsOf(profile, matcher);
    const missingTermRows = termRows.filter((r) => !shownWhole(rows, profile, summary, r)).map((r) => `row ${r}`);
    checks.push(check(`${label}: ${termRows.length} rows carrying a term of the request shown whole`, missingTermRows));
  }
}

function walkJson(original: Json, output: unknown, path: string, checks: RetentionCheck[], structural: string[], matcher?: TermMatcher): void {
  if (Array.isArray(original)) {
    if (isRowArray(original) && isSummary(output)) {
      const profile = profileRows(original);
      if (profile === null) structural.push(`${path}: summarised an array whose paths collide`);
      else checkSummary(path, original, profile, output, checks, matcher);
      return;
    }
    if (!Array.isArray(output) || output.length !== original.length) {
      structural.push(`${path}: array of ${original.length} not kept`);
      return;
    }
    original.forEach((item, i) => walkJson(item, output[i], `${path}[${i}]`, checks, structural, matcher));
    return;
  }
  if (isPlainObject(original)) {
    if (!isPlainObject(output)) {
      structural.push(`${path}: object not kept`);
      return;
    }
    for (const key of Object.keys(original)) {
      if (!Object.prototype.hasOwnProperty.call(output, key)) structural.push(`${path}.${key}: missing`);
      else walkJson(original[key], (output as Record<string, unknown>)[key], `${path}.${key}`, checks, structural, matcher);
    }
    return;
  }
  if (original !== output && !(typeof original === 'number' && typeof output === 'number' && Object.is(original, output))) {
    structural.push(`${path}: ${JSON.stringify(original)} became ${JSON.stringify(output)}`);
  }
}

/** Does the output leave rows out (a summary with `_omitted` above 0, at any depth)? */
export function jsonOmits(output: unknown): boolean {
  if (Array.isArray(output)) return output.some(jsonOmits);
  if (!isPlainObject(output)) return false;
  const record = output as Record<string, unknown>;
  if (isSummary(record) && typeof record[SUMMARY_KEYS.omitted] === 'number' && (record[SUMMARY_KEYS.omitted] as number) > 0) return true;
  return Object.values(record).some(jsonOmits);
}

/** With a context, also checks that every row carrying one of its salient terms is shown whole. */
export function checkJsonRetention(original: string, compressed: string, context?: ToolOutputContext): RetentionReport {
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
  const terms = extractTerms(context);
  walkJson(source.value, output, '$', checks, structural, terms.length > 0 ? new TermMatcher(terms) : undefined);
  checks.unshift(check('every value outside summarised arrays kept as it was', structural));
  return report('json', checks);
}
