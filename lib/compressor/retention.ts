/**
 * Retention checks: mechanical proof that a compressed text still holds what a model needs to
 * answer from it. Each takes the original text and the compressed text (and, optionally, the
 * context the text was compressed with) and says, check by check, what survived. Used by the tests
 * and by bench/compressor.ts.
 *
 * - JSON (retention-json.ts), logs (retention-log.ts) and tables (retention-table.ts): see there.
 * - Listings: every match as printed or in its file's group with its line number and text.
 * - Every kind, from {@link checkRetention}: a retrieval marker with the content hash of the original
 *   if and only if something was left out; with a context, every row, line or entry carrying a
 *   salient term of the request present verbatim.
 */
import { contentHash, markerHashes } from '../ccr';
import type { ToolOutputContext } from './context';
import { detectKind } from './detect';
import { fileHeading, groupListing, matchLineText, parseListing, termMatchLines } from './listing';
import { FOLDED_LINE } from './log';
import { checkJsonRetention, jsonOmits } from './retention-json';
import { checkLogRetention } from './retention-log';
import { checkTableRetention } from './retention-table';
import { TABLE_LEGEND } from './table';
import { RetentionCheck, RetentionReport, check, report } from './retention-report';
import { TermMatcher } from './term-match';
import { extractTerms } from './terms';
import { cleanText } from './text';

export type { RetentionCheck, RetentionReport } from './retention-report';
export { checkJsonRetention } from './retention-json';
export { checkLogRetention } from './retention-log';
export { checkTableRetention } from './retention-table';

const GROUP_ROW = /^ {2}([\d,]+)([:-])(?: (.*))?$/;

/** Rows of a file's group in the output: `text` by separator, with their line numbers. */
function groupRows(outLines: readonly string[], heading: number): { shown: Map<string, Set<number>>; lines: Set<number> } {
  const shown = new Map<string, Set<number>>(); // `${sep}${text}` → line numbers
  const lines = new Set<number>();
  for (let j = heading + 1; heading !== -1 && j < outLines.length; j++) {
    const row = GROUP_ROW.exec(outLines[j]);
    if (row === null) break;
    const key = `${row[2]}${row[3] ?? ''}`;
    let set = shown.get(key);
    if (set === undefined) shown.set(key, (set = new Set()));
    for (const n of row[1].split(',')) {
      set.add(Number(n));
      lines.add(Number(n));
    }
  }
  return { shown, lines };
}

/**
 * Every match written as printed, or else under its file's heading with its line number and text;
 * every context line under its file. With a context, every match carrying a salient term (the
 * transform's choice) as printed.
 */
export function checkListingRetention(original: string, compressed: string, context?: ToolOutputContext): RetentionReport {
  const entries = parseListing(cleanText(original)).entries;
  const outLines = compressed.split('\n');
  const printed = new Set(outLines);
  const files = groupListing(entries.filter((e) => e.sep !== ':' || !printed.has(matchLineText(e))));
  const missingFiles: string[] = [];
  const missingLines: string[] = [];
  const missingTexts: string[] = [];
  let lineCount = 0;
  for (const file of files) {
    // Rows are compared to the file's group in the output: heading, then its indented rows.
    const heading = outLines.indexOf(fileHeading(file));
    if (heading === -1) missingFiles.push(file.path);
    const { shown, lines } = groupRows(outLines, heading);
    for (const row of file.rows) {
      for (const line of row.lines) {
        lineCount++;
        if (!lines.has(line)) missingLines.push(`${file.path}:${line}`);
        else if (!shown.get(`${row.sep}${row.text}`)?.has(line)) missingTexts.push(`${file.path}:${line}${row.sep}${row.text}`);
      }
    }
  }
  const checks = [
    check(`all ${files.length} files`, missingFiles),
    check(`all ${lineCount} line numbers under their file`, missingLines),
    check(`the text of every listed line`, missingTexts),
  ];
  const terms = extractTerms(context);
  if (terms.length > 0) {
    const asPrinted = termMatchLines(entries, new TermMatcher(terms));
    checks.push(
      check(
        `all ${asPrinted.length} matches carrying a term of the request, as printed`,
        asPrinted.filter((line) => !printed.has(line)),
      ),
    );
  }
  return report('listing', checks);
}

/** Did the compressed text leave anything out (rows not shown, lines folded)? */
function omits(kind: RetentionReport['kind'], compressed: string): boolean {
  if (kind === 'json') {
    try {
      return jsonOmits(JSON.parse(compressed));
    } catch {
      return false;
    }
  }
  if (kind === 'log') return compressed.split('\n').some((line) => FOLDED_LINE.test(line));
  if (kind === 'table') {
    const legend = TABLE_LEGEND.exec(compressed);
    return legend !== null && Number(legend[2]) < Number(legend[3]);
  }
  return false;
}

/** One marker, with the hash of the original as sent, when something was left out; none otherwise. */
function markerCheck(kind: RetentionReport['kind'], original: string, compressed: string): RetentionCheck {
  const hashes = markerHashes(compressed);
  const hash = contentHash(original);
  if (omits(kind, compressed)) {
    return check('a retrieval marker with the hash of the original, since something was left out', hashes.length === 1 && hashes[0] === hash ? [] : [`hash=${hash}`]);
  }
  return check('no retrieval marker, since nothing was left out', hashes.includes(hash) ? ['a marker'] : []);
}

/**
 * Checks by the kind of the original, plus the retrieval marker. Text and code: only whitespace may
 * have changed. With a context, rows and lines carrying its salient terms must be there verbatim.
 */
export function checkRetention(original: string, compressed: string, context?: ToolOutputContext): RetentionReport {
  const kind = detectKind(cleanText(original));
  let result: RetentionReport;
  if (kind === 'json') result = checkJsonRetention(original, compressed, context);
  else if (kind === 'log') result = checkLogRetention(original, compressed, context);
  else if (kind === 'listing') result = checkListingRetention(original, compressed, context);
  else if (kind === 'table') result = checkTableRetention(original, compressed, context);
  else {
    const squeeze = (text: string) => cleanText(text).replace(/\s+/g, '');
    result = report('text', [check('every non-whitespace character kept, in order', squeeze(original) === squeeze(compressed) ? [] : ['text changed beyond whitespace'])]);
  }
  return report(result.kind, [...result.checks, markerCheck(result.kind, original, compressed)]);
}
