/**
 * Log folding. Lines that share a template (see log-template.ts) are written once, with how many
 * lines they stand for and the range or set of each value that varied; every line a model needs to
 * diagnose a failure (ERROR/WARN/FATAL and similar, stack traces, Python tracebacks) is kept verbatim
 * and in place.
 */
import { LineTemplate, SlotKind, templateLine } from './log-template';

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

interface TemplateGroup {
  first: number;
  count: number;
  firstLine: string;
  sample: LineTemplate;
  /** values[slot] = every value seen in that slot, in line order. */
  values: string[][];
}

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d+)?)(\D*)$/;

/** How one varying slot is written: all equal → the value; ≤3 distinct → `<a|b|c>`; else a range or a count. */
function renderSlot(kind: SlotKind, values: readonly string[]): string {
  const distinct = [...new Set(values)];
  if (distinct.length === 1) return distinct[0];
  if (distinct.length <= 3) return `<${distinct.join('|')}>`;
  if (kind === 'n') {
    const parsed = distinct.map((v) => NUMBER_WITH_UNIT.exec(v));
    const unit = parsed[0]?.[2];
    if (parsed.every((p) => p !== null && p[2] === unit)) {
      let min = 0;
      let max = 0;
      for (let i = 1; i < parsed.length; i++) {
        const value = Number(parsed[i]![1]);
        if (value < Number(parsed[min]![1])) min = i;
        if (value > Number(parsed[max]![1])) max = i;
      }
      return `<${distinct[min]}..${distinct[max]}>`;
    }
  }
  if (kind === 'ts') {
    // ISO timestamps sort as text; syslog and bare times sort within one day, close enough for a range.
    let min = distinct[0];
    let max = distinct[0];
    for (const v of distinct) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return `<${min}..${max}>`;
  }
  return `<${distinct.length} distinct ${kind}>`;
}

function renderGroup(group: TemplateGroup): string {
  if (group.count === 1) return group.firstLine;
  const { template, kinds } = group.sample;
  let slot = 0;
  const body = template.replace(/<(?:ts|id|hex|ip|n)>/g, () => {
    const rendered = renderSlot(kinds[slot], group.values[slot]);
    slot++;
    return rendered;
  });
  return `[×${group.count}] ${body}`;
}

export interface LogFoldStats {
  lines: number;
  keptVerbatim: number;
  folded: number;
  templates: number;
}

/**
 * Folds a log. Returns null when there is nothing to fold (no template repeats), so the caller can
 * fall back to the whitespace transform instead of adding a header for nothing.
 */
export function compressLog(text: string): { text: string; stats: LogFoldStats } | null {
  const lines = text.split('\n');
  const roles = classifyLogLines(lines);

  const groups = new Map<string, TemplateGroup>();
  const groupOfLine: (TemplateGroup | undefined)[] = new Array(lines.length);
  // Identical severe lines (the same warning printed 500 times) are written once with a count; they
  // stay verbatim. Trace lines are never merged: a frame belongs to its trace.
  const severeCounts = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    if (roles[i] === 'severe') severeCounts.set(lines[i], (severeCounts.get(lines[i]) ?? 0) + 1);
    if (roles[i] !== 'plain') continue;
    const templated = templateLine(lines[i]);
    let group = groups.get(templated.template);
    if (group === undefined) {
      group = { first: i, count: 0, firstLine: lines[i], sample: templated, values: templated.values.map(() => []) };
      groups.set(templated.template, group);
    }
    group.count++;
    for (let s = 0; s < templated.values.length; s++) group.values[s].push(templated.values[s]);
    groupOfLine[i] = group;
  }

  let folded = 0;
  for (const group of groups.values()) if (group.count > 1) folded += group.count;
  let repeatedSevere = 0;
  for (const count of severeCounts.values()) if (count > 1) repeatedSevere += count - 1;
  if (folded === 0 && repeatedSevere === 0) return null;

  const out: string[] = [];
  const severeWritten = new Set<string>();
  let keptVerbatim = 0;
  let previousBlank = false;
  for (let i = 0; i < lines.length; i++) {
    const role = roles[i];
    if (role === 'blank') {
      // Blank lines between folded lines would pile up: keep one of each run.
      if (!previousBlank && out.length > 0) out.push('');
      previousBlank = true;
      continue;
    }
    if (role === 'plain') {
      const group = groupOfLine[i]!;
      if (group.first !== i) continue;
      out.push(renderGroup(group));
      if (group.count === 1) keptVerbatim++;
    } else if (role === 'severe') {
      if (severeWritten.has(lines[i])) continue;
      severeWritten.add(lines[i]);
      const count = severeCounts.get(lines[i])!;
      out.push(count > 1 ? `[×${count}] ${lines[i]}` : lines[i]);
      keptVerbatim++;
    } else {
      out.push(lines[i]);
      keptVerbatim++;
    }
    previousBlank = false;
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();

  const templates = [...groups.values()].filter((g) => g.count > 1).length;
  // The legend costs a few tokens once and tells the model how to read the folded lines.
  const header =
    `[log: ${lines.length} lines; ${folded} repetitive lines folded into ${templates} pattern${templates === 1 ? '' : 's'} ` +
    `([×N] = N lines, <a..b> = range, <a|b> = values seen); errors, warnings and traces verbatim]`;
  return {
    text: `${header}\n${out.join('\n')}`,
    stats: { lines: lines.length, keptVerbatim, folded, templates },
  };
}
