/**
 * Search listings (`grep -n`, `rg`, compiler diagnostics): `path:line:text` for a match and
 * `path-line-text` / `path:line-text` for a context line. Grouped by file, the path is written once;
 * within a file the lines are put in order and the lines that carry the same text share one row.
 * Every match keeps its line number and its text. With the request's salient terms, the matches
 * carrying them are written first, as printed (term-match.ts chooses them).
 */
import { TermMatcher, selectCarriers } from './term-match';

export interface ListingLine {
  path: string;
  line: number;
  /** ':' for a match, '-' for a context line. */
  sep: ':' | '-';
  text: string;
}

const MATCH_LINE = /^(.+?):(\d+):(.*)$/;
const CONTEXT_LINE_COLON = /^(.+?):(\d+)-(.*)$/;

/**
 * A path as search tools print it: no spaces (so a log line's `INFO worker.py:12` is not one), a
 * slash, backslash or dot, and not a timestamp or URL (`2026-11-26T10:00:00` splits at its colons).
 */
function looksLikePath(path: string): boolean {
  let known = pathVerdicts.get(path);
  if (known === undefined) {
    known = isPathShaped(path);
    // Paths repeat line after line; the verdicts are kept per process, bounded.
    if (pathVerdicts.size >= 4096) pathVerdicts.clear();
    pathVerdicts.set(path, known);
  }
  return known;
}

const pathVerdicts = new Map<string, boolean>();

function isPathShaped(path: string): boolean {
  return path.length <= 512 && !/\s/.test(path) && /[/\\.]/.test(path) && !path.includes('://') && !/^\d{4}-\d{2}-\d{2}/.test(path) && !/^\d+(?:\.\d+)*$/.test(path);
}

/**
 * Parses one line of a listing. Context lines written `path-12-text` are ambiguous (paths contain
 * dashes), so they are only accepted for a path already seen in a match line (`knownPaths`).
 */
export function parseListingLine(line: string, knownPaths?: ReadonlySet<string>): ListingLine | null {
  let m = MATCH_LINE.exec(line);
  if (m !== null && looksLikePath(m[1])) return { path: m[1], line: Number(m[2]), sep: ':', text: m[3] };
  m = CONTEXT_LINE_COLON.exec(line);
  if (m !== null && looksLikePath(m[1])) return { path: m[1], line: Number(m[2]), sep: '-', text: m[3] };
  return knownPaths !== undefined && knownPaths.size > 0 ? parseDashContextLine(line, knownPaths) : null;
}

const DASH_CONTEXT_TAIL = /-(\d+)-/y;

/** `path-12-text`, for a path in `knownPaths`. Paths contain dashes, so every dash is a candidate split. */
function parseDashContextLine(line: string, knownPaths: ReadonlySet<string>): ListingLine | null {
  // Paths are at most 512 characters (looksLikePath), so a long line's later dashes are not tried.
  for (let dash = line.indexOf('-'); dash !== -1 && dash <= 512; dash = line.indexOf('-', dash + 1)) {
    DASH_CONTEXT_TAIL.lastIndex = dash;
    const tail = DASH_CONTEXT_TAIL.exec(line);
    if (tail === null) continue;
    const path = line.slice(0, dash);
    if (knownPaths.has(path)) return { path, line: Number(tail[1]), sep: '-', text: line.slice(DASH_CONTEXT_TAIL.lastIndex) };
  }
  return null;
}

export interface ParsedListing {
  entries: ListingLine[];
  /** Lines that are neither entries nor `--` separators, in order (e.g. `Binary file x matches`). */
  other: string[];
  matchCount: number;
  nonEmptyLines: number;
}

export function parseListing(text: string): ParsedListing {
  const lines = text.split('\n');
  const entries: (ListingLine | null)[] = new Array(lines.length).fill(null);
  const knownPaths = new Set<string>();
  let matchCount = 0;
  let nonEmptyLines = 0;
  // First pass: match lines, which name the files; second pass: dash context lines for those files.
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].length === 0) continue;
    nonEmptyLines++;
    const parsed = parseListingLine(lines[i]);
    if (parsed === null) continue;
    entries[i] = parsed;
    if (parsed.sep === ':') {
      matchCount++;
      knownPaths.add(parsed.path);
    }
  }
  const other: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (entries[i] !== null || lines[i].length === 0) continue;
    const context = knownPaths.size > 0 ? parseDashContextLine(lines[i], knownPaths) : null;
    if (context !== null) entries[i] = context;
    else if (lines[i] !== '--') other.push(lines[i]);
  }
  return { entries: entries.filter((e): e is ListingLine => e !== null), other, matchCount, nonEmptyLines };
}

/** Is this text a search listing? Most lines must parse, and there must be a few matches at least. */
export function isListing(parsed: ParsedListing): boolean {
  const separators = parsed.nonEmptyLines - parsed.entries.length - parsed.other.length;
  return parsed.matchCount >= 3 && parsed.entries.length + separators >= 0.6 * parsed.nonEmptyLines;
}

/** The longest run of spaces/tabs every non-empty text starts with; grep keeps the source indentation. */
function commonIndent(texts: readonly string[]): string {
  let indent: string | null = null;
  for (const text of texts) {
    if (text.trim().length === 0) continue;
    const own = /^[ \t]*/.exec(text)![0];
    if (indent === null) indent = own;
    else {
      let k = 0;
      while (k < indent.length && k < own.length && indent[k] === own[k]) k++;
      indent = indent.slice(0, k);
    }
    if (indent.length === 0) break;
  }
  return indent ?? '';
}

export interface ListingFile {
  path: string;
  matches: number;
  /** Rows in output order: the line numbers (ascending) that carry `text`, and their separator. */
  rows: { lines: number[]; sep: ':' | '-'; text: string }[];
}

interface Row {
  lines: number[];
  sep: ':' | '-';
  text: string;
  seen: Set<number>;
}

/** Groups a listing by file; shared by the transform and the retention check. */
export function groupListing(entries: readonly ListingLine[]): ListingFile[] {
  const byPath = new Map<string, ListingLine[]>();
  for (const entry of entries) {
    let list = byPath.get(entry.path);
    if (list === undefined) byPath.set(entry.path, (list = []));
    list.push(entry);
  }
  const files: ListingFile[] = [];
  for (const [path, list] of byPath) {
    const indent = commonIndent(list.map((e) => e.text));
    // Matches and context lines with the same text are different rows: one map for each.
    const rowsByText = { ':': new Map<string, Row>(), '-': new Map<string, Row>() };
    const rows: Row[] = [];
    let matches = 0;
    for (const entry of list) {
      const text = indent.length === 0 ? entry.text : entry.text.slice(indent.length);
      const byText = rowsByText[entry.sep];
      let row = byText.get(text);
      if (row === undefined) {
        byText.set(text, (row = { lines: [], sep: entry.sep, text, seen: new Set() }));
        rows.push(row);
      }
      if (row.seen.has(entry.line)) continue; // the same line printed twice (overlapping contexts)
      row.seen.add(entry.line);
      row.lines.push(entry.line);
      if (entry.sep === ':') matches++;
    }
    for (const row of rows) row.lines.sort((a, b) => a - b);
    rows.sort((a, b) => a.lines[0] - b.lines[0] || (a.sep === b.sep ? 0 : a.sep === ':' ? -1 : 1));
    files.push({ path, matches, rows: rows.map(({ lines, sep, text }) => ({ lines, sep, text })) });
  }
  return files;
}

/** The header line of a file's group in the output; the retention check looks for it. */
export function fileHeading(file: Pick<ListingFile, 'path' | 'matches'>): string {
  return `${file.path} (${file.matches})`;
}

/** A match line as grep printed it. */
export function matchLineText(entry: ListingLine): string {
  return `${entry.path}:${entry.line}:${entry.text}`;
}

/**
 * The match lines carrying a salient term (after the cut), as printed, in order and once each: the
 * lines a question is about are written first and whole, so they can be quoted as they are.
 */
export function termMatchLines(entries: readonly ListingLine[], matcher: TermMatcher | undefined): string[] {
  if (matcher === undefined || matcher.terms.length === 0) return [];
  const lines = [...new Set(entries.filter((e) => e.sep === ':').map(matchLineText))];
  return selectCarriers(lines.length, matcher.terms, (i, into) => matcher.carriedBy(lines[i], into)).map((i) => lines[i]);
}

/** With a matcher, the match lines carrying a term are written first as printed, and grouped no more. Lossless either way. */
export function compressListing(text: string, options: { matcher?: TermMatcher } = {}): { text: string; files: number; matches: number } | null {
  const parsed = parseListing(text);
  if (!isListing(parsed)) return null;
  const asPrinted = termMatchLines(parsed.entries, options.matcher);
  const printed = new Set(asPrinted);
  const files = groupListing(printed.size === 0 ? parsed.entries : parsed.entries.filter((e) => e.sep !== ':' || !printed.has(matchLineText(e))));
  const fileCount = new Set(parsed.entries.map((e) => e.path)).size;
  const hasContext = parsed.entries.some((e) => e.sep === '-');
  const first = asPrinted.length > 0 ? `the ${asPrinted.length} matches carrying a term of the request first, as printed; the rest ` : '';
  const out: string[] = [
    `[grep: ${parsed.matchCount} matches in ${fileCount} files, ${first}grouped by file (match count in brackets); ` +
      `"3,9: text" = the same text on lines 3 and 9${hasContext ? '; "-" marks a context line' : ''}]`,
    ...asPrinted,
  ];
  for (const file of files) {
    out.push(fileHeading(file));
    for (const row of file.rows) out.push(`  ${row.lines.join(',')}${row.sep}${row.text.length > 0 ? ' ' : ''}${row.text}`);
  }
  out.push(...parsed.other);
  return { text: out.join('\n'), files: files.length, matches: parsed.matchCount };
}
