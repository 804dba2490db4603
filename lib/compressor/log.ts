/**
 * Log folding. Lines that share a template (see log-template.ts) are written once, with how many
 * lines they stand for and the range or set of each value that varied; every line a model needs to
 * diagnose a failure (ERROR/WARN/FATAL and similar, stack traces, Python tracebacks) is kept verbatim
 * and in place, and so is every line carrying a salient term of the request (term-match.ts).
 */
import { retrievalMarker } from '../ccr';
import { SlotKind, templateLine } from './log-template';
import { formatCount, plural } from './omission';
import { TermMatcher, selectCarriers } from './term-match';

/**
 * A line's severity or wording says something went wrong. Levels count in upper case only
 * (`ERROR`, `WARN`), so `processed 0 errors` stays foldable; `level=error` and `[error]` count in any case.
 */
const SEVERE_CASE_SENSITIVE = new RegExp(
  [
    String.raw`\b(?:ERROR|ERR|WARN|WARNING|FATAL|CRITICAL|CRIT|SEVERE|PANIC|ALERT|EMERG|FAIL|FAILED|FAILURE)\b`,
    String.raw`\b[A-Z]\w*(?:Error|Exception)\b`,
    String.raw`^\s*(?:Error|Warning|Fatal|Uncaught|Unhandled)\b`,
    String.raw`\bpanic:|\bnpm ERR!|\bTraceback \(most recent call last\)`,
  ].join('|'),
);
const SEVERE_ANY_CASE = /\blevel["']?\s*[=:]\s*["']?(?:error|err|warn|warning|fatal|critical|panic)\b|\[(?:error|warn|warning|fatal|critical)\]/i;

/** A frame of a JS or Java stack (`    at fn (file.js:1:2)`), a Go frame, or a Java trace continuation. */
const STACK_FRAME = /^\s+at\s+\S|^\s*\.\.\. \d+ (?:more|common frames omitted)|^\s*(?:Caused by|Suppressed):|^\t\S+\.go:\d+/;
const PYTHON_TRACEBACK_START = /^\s*Traceback \(most recent call last\):/;
const PYTHON_CHAINED = /^(?:During handling of the above exception|The above exception was the direct cause)/;

export type LineRole = 'plain' | 'severe' | 'trace' | 'blank';

/** A folded line: `[×253] <the line with its varying values as ranges or sets>`. */
export const FOLDED_LINE = /^\[×(\d+)\] (.*)$/;

function isSevere(line: string): boolean {
  return SEVERE_CASE_SENSITIVE.test(line) || SEVERE_ANY_CASE.test(line);
}

/**
 * What each line is: a trace line (part of a stack trace or traceback, kept verbatim with its block),
 * a severe line (kept verbatim), a blank line, or a plain line (may be folded).
 */
export function classifyLogLines(lines: readonly string[]): LineRole[] {
  const roles: LineRole[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) roles[i] = 'blank';
    else if (STACK_FRAME.test(line) || PYTHON_CHAINED.test(line)) roles[i] = 'trace';
    else roles[i] = isSevere(line) ? 'severe' : 'plain';
  }
  for (let i = 0; i < lines.length; i++) {
    if (roles[i] === 'trace' && STACK_FRAME.test(lines[i])) {
      // The message of a JS/Java stack sits on the line before its first frame (`TypeError: ...`).
      let h = i - 1;
      while (h >= 0 && roles[h] === 'blank') h--;
      if (h >= 0 && roles[h] !== 'trace') roles[h] = 'trace';
    }
    if (PYTHON_TRACEBACK_START.test(lines[i])) {
      // A traceback runs over indented lines (`  File ...`, the source line, carets) and ends with the
      // first unindented line, the exception itself (`ValueError: ...`).
      roles[i] = 'trace';
      let j = i + 1;
      while (j < lines.length && /^\s/.test(lines[j])) roles[j++] = 'trace';
      if (j < lines.length && lines[j].length > 0) roles[j] = 'trace';
      i = j;
    }
  }
  return roles;
}

/**
 * What one slot of a template held across its lines, gathered as the lines go by (no list of
 * every value is kept): the distinct values while there are at most three, and for numbers and
 * timestamps their smallest and largest, for ids the number of distinct values.
 */
class SlotStats {
  /** Distinct values; for numbers and timestamps dropped (null) past three, when a range says more. */
  private distinct: Set<string> | null = new Set();
  private numeric = true;
  private unit: string | undefined;
  private min = Infinity;
  private max = -Infinity;
  private minText = '';
  private maxText = '';
  private low: string | undefined;
  private high: string | undefined;

  constructor(private readonly kind: SlotKind) {}

  add(value: string): void {
    if (this.distinct !== null) {
      this.distinct.add(value);
      if (this.distinct.size > 3 && (this.kind === 'n' || this.kind === 'ts')) this.distinct = null;
    }
    if (this.kind === 'n') {
      if (!this.numeric) return;
      const number = parseFloat(value);
      let end = 0;
      while (end < value.length && ((value.charCodeAt(end) >= 48 && value.charCodeAt(end) <= 57) || value.charCodeAt(end) === 46)) end++;
      const unit = end === value.length ? '' : value.slice(end);
      if (this.unit === undefined) this.unit = unit;
      else if (unit !== this.unit) this.numeric = false; // `3ms` next to `2s`: no common scale
      if (number < this.min) {
        this.min = number;
        this.minText = value;
      }
      if (number > this.max) {
        this.max = number;
        this.maxText = value;
      }
    } else if (this.kind === 'ts') {
      // ISO timestamps sort as text; syslog and bare times sort within one day, close enough for a range.
      if (this.low === undefined || value < this.low) this.low = value;
      if (this.high === undefined || value > this.high) this.high = value;
    }
  }

  /** All equal → the value; ≤3 distinct → `<a|b|c>`; numbers and timestamps → `<min..max>`; ids → a count. */
  render(): string {
    if (this.distinct !== null && this.distinct.size <= 3) {
      const values = [...this.distinct];
      return values.length === 1 ? values[0] : `<${values.join('|')}>`;
    }
    if (this.kind === 'n' && this.numeric) return `<${this.minText}..${this.maxText}>`;
    if (this.kind === 'ts') return `<${this.low}..${this.high}>`;
    if (this.distinct !== null) return `<${this.distinct.size} distinct ${this.kind}>`;
    return `<${this.kind}>`; // numbers of mixed units
  }
}

interface TemplateGroup {
  first: number;
  count: number;
  firstLine: string;
  template: string;
  slots: SlotStats[];
}

const PLACEHOLDER = /<(?:ts|id|hex|ip|n)>/g;

function renderGroup(group: TemplateGroup): string {
  if (group.count === 1) return group.firstLine;
  let slot = 0;
  const body = group.template.replace(PLACEHOLDER, () => group.slots[slot++].render());
  return `[×${group.count}] ${body}`;
}

export interface LogFoldStats {
  lines: number;
  keptVerbatim: number;
  folded: number;
  templates: number;
  /** Lines standing in a `[×N]` row (folded, or identical lines merged), and how many such rows. */
  omitted: number;
  patterns: number;
}

export interface LogCompressOptions {
  /** Lines carrying one of these terms stay verbatim (the cut in term-match.ts applies). */
  matcher?: TermMatcher;
  /** The content hash of the original tool text: with it, folded lines get a retrieval marker. */
  retrievalHash?: string;
}

/**
 * The plain lines to keep verbatim because they carry a salient term. A term carried by more than
 * half of the non-blank lines forces nothing (see term-match.ts); severe and trace lines are kept anyway.
 */
export function termLines(lines: readonly string[], matcher: TermMatcher | undefined): number[] {
  if (matcher === undefined || matcher.terms.length === 0) return [];
  let nonBlank = 0;
  for (const line of lines) if (line.length > 0) nonBlank++;
  return selectCarriers(lines.length, matcher.terms, (i, into) => lines[i].length > 0 && matcher.carriedBy(lines[i], into), nonBlank);
}

interface Folding {
  groups: Map<string, TemplateGroup>;
  groupOfLine: (TemplateGroup | undefined)[];
  /** Verbatim lines (severe, or carrying a term) by text, with how often each occurs. */
  verbatimCounts: Map<string, number>;
}

function foldLines(lines: readonly string[], roles: readonly LineRole[], kept: ReadonlySet<number>): Folding {
  const groups = new Map<string, TemplateGroup>();
  const groupOfLine: (TemplateGroup | undefined)[] = new Array(lines.length);
  // Identical verbatim lines (the same warning printed 500 times) are written once with a count.
  // Trace lines are never merged: a frame belongs to its trace.
  const verbatimCounts = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    if (roles[i] === 'severe' || (roles[i] === 'plain' && kept.has(i))) {
      verbatimCounts.set(lines[i], (verbatimCounts.get(lines[i]) ?? 0) + 1);
      continue;
    }
    if (roles[i] !== 'plain') continue;
    const { template, values, kinds } = templateLine(lines[i]);
    let group = groups.get(template);
    if (group === undefined) {
      group = { first: i, count: 0, firstLine: lines[i], template, slots: kinds.map((kind) => new SlotStats(kind)) };
      groups.set(template, group);
    }
    group.count++;
    for (let s = 0; s < values.length; s++) group.slots[s].add(values[s]);
    groupOfLine[i] = group;
  }
  return { groups, groupOfLine, verbatimCounts };
}

function renderLines(lines: readonly string[], roles: readonly LineRole[], folding: Folding): { out: string[]; keptVerbatim: number } {
  const out: string[] = [];
  const verbatimWritten = new Set<string>();
  let keptVerbatim = 0;
  let previousBlank = false;
  for (let i = 0; i < lines.length; i++) {
    const group = folding.groupOfLine[i];
    if (roles[i] === 'blank') {
      // Blank lines between folded lines would pile up: keep one of each run.
      if (!previousBlank && out.length > 0) out.push('');
      previousBlank = true;
      continue;
    }
    if (group !== undefined) {
      if (group.first !== i) continue;
      out.push(renderGroup(group));
      if (group.count === 1) keptVerbatim++;
    } else if (roles[i] === 'trace') {
      out.push(lines[i]);
      keptVerbatim++;
    } else {
      if (verbatimWritten.has(lines[i])) continue;
      verbatimWritten.add(lines[i]);
      const count = folding.verbatimCounts.get(lines[i])!;
      out.push(count > 1 ? `[×${count}] ${lines[i]}` : lines[i]);
      keptVerbatim++;
    }
    previousBlank = false;
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return { out, keptVerbatim };
}

/**
 * Folds a log. Returns null when there is nothing to fold (no template repeats), so the caller can
 * fall back to the whitespace transform instead of adding a header for nothing. With a retrieval
 * hash, the last line is Headroom's marker: `[<n> of <m> lines folded into <k> patterns. Retrieve more: hash=…]`.
 */
export function compressLog(text: string, options: LogCompressOptions = {}): { text: string; stats: LogFoldStats; marked: boolean } | null {
  const lines = text.split('\n');
  const roles = classifyLogLines(lines);
  const kept = new Set(termLines(lines, options.matcher).filter((i) => roles[i] === 'plain'));
  const folding = foldLines(lines, roles, kept);

  let folded = 0;
  let templates = 0;
  for (const group of folding.groups.values()) {
    if (group.count > 1) {
      folded += group.count;
      templates++;
    }
  }
  let merged = 0;
  let mergedRows = 0;
  for (const count of folding.verbatimCounts.values()) {
    if (count > 1) {
      merged += count;
      mergedRows++;
    }
  }
  if (folded === 0 && merged === 0) return null;

  const { out, keptVerbatim } = renderLines(lines, roles, folding);
  const verbatim = kept.size > 0 ? 'errors, warnings, traces and lines carrying a term of the request verbatim' : 'errors, warnings and traces verbatim';
  // The legend costs a few tokens once and tells the model how to read the folded lines.
  const header =
    `[log: ${lines.length} lines; ${folded} repetitive lines folded into ${templates} pattern${templates === 1 ? '' : 's'} ` +
    `([×N] = N lines, <a..b> = range, <a|b> = values seen); ${verbatim}]`;
  const omitted = folded + merged;
  const patterns = templates + mergedRows;
  const marked = options.retrievalHash !== undefined;
  if (marked) out.push(retrievalMarker(`${formatCount(omitted)} of ${formatCount(lines.length)} lines folded into ${plural(patterns, 'pattern')}`, options.retrievalHash!));
  return {
    text: `${header}\n${out.join('\n')}`,
    stats: { lines: lines.length, keptVerbatim, folded, templates, omitted, patterns },
    marked,
  };
}
