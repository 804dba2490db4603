/**
 * Table retention: the header lines there as they were, the row count, every value of each
 * low-cardinality column with its count and each numeric column's min and max stated (the JSON
 * line, read as a JSON summary is), every row the profile marks (first, last, rare, error-like,
 * empty, outlier, min/max) there as it was, and (given the context) every row carrying a salient
 * term of the request.
 */
import type { ToolOutputContext } from './context';
import { checkColumnStats } from './retention-json';
import { RetentionCheck, RetentionReport, check, report } from './retention-report';
import { SUMMARY_KEYS } from './rows-summary';
import { TABLE_LEGEND, profileTable } from './table';
import { parseTable } from './table-parse';
import { TermMatcher } from './term-match';
import { termRowsOf } from './term-rows';
import { extractTerms } from './terms';
import { cleanText } from './text';

/** The statistics line of the output (`{"_rows":…}`), parsed; an empty object when there is none. */
function statsLine(outLines: readonly string[]): Record<string, unknown> {
  const line = outLines.find((l) => l.startsWith(`{"${SUMMARY_KEYS.rows}":`));
  try {
    return line === undefined ? {} : (JSON.parse(line) as Record<string, unknown>);
  } catch {
    return {};
  }
}

export function checkTableRetention(original: string, compressed: string, context?: ToolOutputContext): RetentionReport {
  const table = parseTable(cleanText(original));
  const profile = table === null ? null : profileTable(table);
  if (table === null || profile === null) return report('table', [{ name: 'original parses as a table', passed: false }]);
  if (!TABLE_LEGEND.test(compressed)) {
    // Not summarised (every row mattered): only whitespace may have changed.
    const squeeze = (text: string) => cleanText(text).replace(/\s+/g, '');
    return report('table', [check('every non-whitespace character kept, in order', squeeze(original) === squeeze(compressed) ? [] : ['text changed beyond whitespace'])]);
  }
  const outLines = compressed.split('\n');
  const present = new Set(outLines);
  const checks: RetentionCheck[] = [
    check(
      'the header as it was',
      table.head.filter((line) => !present.has(line)),
    ),
  ];
  checkColumnStats('table', profile, statsLine(outLines), checks);
  const missing = [...profile.mustKeep].filter(([r]) => !present.has(table.rows[r].line)).map(([r, reasons]) => `row ${r} (${reasons.join(', ')})`);
  checks.push(check(`${profile.mustKeep.size} rows with rare, error-like, empty, outlier or min/max values (and first, last) as they were`, missing));
  const terms = extractTerms(context);
  if (terms.length > 0) {
    const termRows = termRowsOf(profile, new TermMatcher(terms));
    const missingTermRows = termRows.filter((r) => !present.has(table.rows[r].line)).map((r) => `row ${r}`);
    checks.push(check(`${termRows.length} rows carrying a term of the request as they were`, missingTermRows));
  }
  return report('table', checks);
}
