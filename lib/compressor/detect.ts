/**
 * What kind of text a tool returned, from its content alone (no tool names: any tool can print JSON
 * or logs). The kind picks the transform; a transform that finds nothing to do falls back to the
 * whitespace transform, so a wrong guess costs compression, never content.
 */
import { templateLine } from './log-template';
import { parseTableLines } from './table-parse';

export type ContentKind = 'json' | 'table' | 'listing' | 'log' | 'code' | 'text';

/** Lines examined by the line-based tests; enough to judge, bounded so detection stays cheap. */
const SAMPLE_LINES = 400;

/** A log line starts with a timestamp or a level, or carries a level / key=value pairs of a logger. */
const LOG_LINE =
  /^\s*(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}|\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL)\b)|\b(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)\b|\blevel=\w+|^\s+at\s+\S|^\s*Traceback \(most recent call last\)/;

/**
 * A line shaped like a listing entry: a path-like head (a slash or dot, no spaces) then `:12:`,
 * `:12-` or `-12-`. A cheap shape test; the listing transform parses for real and may still decline.
 */
const LISTING_LINE = /^(?=[^\s:]*[/.\\])[^\s:]+?(?::\d+[:-]|-\d+-)/;

/** Lines that only source code has: keywords at the start, or ending in a bracket, semicolon, colon or tag. */
const CODE_LINE =
  /^\s*(?:import|from|export|def|class|function|const|let|var|return|if|elif|else|for|while|switch|case|try|catch|except|finally|public|private|protected|package|fn|pub|use|struct|impl|interface|type|enum|async|await|#include|#define|@\w+)\b|[{}();:,>]\s*$|^\s*(?:\/\/|\/\*|\*|#(?!\d))/;

function sampleLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < SAMPLE_LINES && start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    if (line.trim().length > 0) lines.push(line);
    start = end + 1;
  }
  return lines;
}

function looksLikeJson(trimmed: string): boolean {
  const first = trimmed[0];
  const last = trimmed[trimmed.length - 1];
  return (first === '{' && last === '}') || (first === '[' && last === ']');
}

/** Share of lines matching a pattern. */
function share(lines: readonly string[], pattern: RegExp): number {
  let hits = 0;
  for (const line of lines) if (pattern.test(line)) hits++;
  return lines.length === 0 ? 0 : hits / lines.length;
}

/** Many lines, few templates: repetitive output worth folding even without timestamps or levels. */
function isRepetitive(lines: readonly string[]): boolean {
  if (lines.length < 20) return false;
  const templates = new Set<string>();
  for (const line of lines) templates.add(templateLine(line).template);
  return templates.size <= lines.length / 2;
}

export function detectKind(text: string): ContentKind {
  const trimmed = text.trim();
  if (looksLikeJson(trimmed)) return 'json';
  const lines = sampleLines(trimmed);
  // Before listings and logs: a CSV export of log rows is a table (the strict parse rarely says yes).
  if (parseTableLines(lines) !== null) return 'table';
  if (lines.length >= 3 && share(lines, LISTING_LINE) >= 0.6) return 'listing';
  // Logs before code: a stack trace ends lines with `)` and would otherwise read as code.
  if (lines.length >= 5 && share(lines, LOG_LINE) >= 0.3) return 'log';
  if (lines.length >= 3 && share(lines, CODE_LINE) >= 0.4) return 'code';
  if (isRepetitive(lines)) return 'log';
  return 'text';
}
