/**
 * Log retention: every distinct line template is there with its count (folded as `[×N]`, its lines
 * verbatim, or some lines verbatim and the rest folded), every severe line verbatim with its count,
 * every trace line verbatim and in order, and (given the context) every line carrying a salient term
 * of the request verbatim.
 */
import type { ToolOutputContext } from './context';
import { FOLDED_LINE, classifyLogLines, termLines } from './log';
import { lineShape, templateLine } from './log-template';
import { RetentionCheck, RetentionReport, check, report } from './retention-report';
import { TermMatcher } from './term-match';
import { extractTerms } from './terms';
import { cleanText } from './text';

interface OutputLines {
  lines: string[];
  /** Each line as it reads, with how many original lines it stands for (`[×N] line` counts N). */
  verbatim: Map<string, number>;
  /** Folded lines by shape: their counts. */
  folded: Map<string, number[]>;
}

function readOutput(compressed: string): OutputLines {
  const lines = compressed.split('\n');
  const verbatim = new Map<string, number>();
  const folded = new Map<string, number[]>();
  for (const line of lines) {
    const fold = FOLDED_LINE.exec(line);
    if (fold !== null) {
      verbatim.set(fold[2], (verbatim.get(fold[2]) ?? 0) + Number(fold[1]));
      const shape = lineShape(fold[2]);
      let counts = folded.get(shape);
      if (counts === undefined) folded.set(shape, (counts = []));
      counts.push(Number(fold[1]));
    } else verbatim.set(line, (verbatim.get(line) ?? 0) + 1);
  }
  return { lines, verbatim, folded };
}

/**
 * Each template's lines: those there verbatim, and the rest in one folded line of the template's
 * shape with exactly their count (a line kept for a term leaves the others to the fold).
 */
function checkTemplates(lines: readonly string[], roles: readonly string[], output: OutputLines): RetentionCheck {
  const templates = new Map<string, string[]>();
  for (let i = 0; i < lines.length; i++) {
    if (roles[i] !== 'plain') continue;
    const { template } = templateLine(lines[i]);
    let members = templates.get(template);
    if (members === undefined) templates.set(template, (members = []));
    members.push(lines[i]);
  }
  const missing: string[] = [];
  for (const [template, members] of templates) {
    const needed = new Map<string, number>();
    for (const line of members) needed.set(line, (needed.get(line) ?? 0) + 1);
    let there = 0;
    for (const [line, times] of needed) there += Math.min(output.verbatim.get(line) ?? 0, times);
    const rest = members.length - there;
    if (rest === 0) continue;
    const counts = output.folded.get(lineShape(members[0]));
    const foldIndex = counts?.indexOf(rest) ?? -1;
    if (foldIndex === -1) missing.push(`${template} (×${members.length})`);
    else counts!.splice(foldIndex, 1); // each folded line stands for one template
  }
  return check(`all ${templates.size} line templates, with their counts`, missing);
}

/** Trace lines verbatim and in their order: a subsequence of the output lines. */
function checkTraces(lines: readonly string[], roles: readonly string[], outLines: readonly string[]): RetentionCheck {
  const traceLines = lines.filter((_, i) => roles[i] === 'trace');
  const missing: string[] = [];
  let cursor = 0;
  for (const line of traceLines) {
    const found = outLines.indexOf(line, cursor);
    if (found === -1) missing.push(line);
    else cursor = found + 1;
  }
  return check(`all ${traceLines.length} stack trace / traceback lines verbatim, in order`, missing);
}

export function checkLogRetention(original: string, compressed: string, context?: ToolOutputContext): RetentionReport {
  const lines = cleanText(original).split('\n');
  const roles = classifyLogLines(lines);
  const output = readOutput(compressed);

  const severeCounts = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) if (roles[i] === 'severe') severeCounts.set(lines[i], (severeCounts.get(lines[i]) ?? 0) + 1);
  const missingSevere: string[] = [];
  for (const [line, count] of severeCounts) if ((output.verbatim.get(line) ?? 0) < count) missingSevere.push(line);

  const checks = [
    checkTemplates(lines, roles, output),
    check(`all ${severeCounts.size} distinct ERROR/WARN/FATAL lines verbatim, with their counts`, missingSevere),
    checkTraces(lines, roles, output.lines),
  ];
  const terms = extractTerms(context);
  if (terms.length > 0) {
    // The lines the transform keeps (the same function, so the cut applies here too).
    const carriers = termLines(lines, new TermMatcher(terms));
    const missing = carriers.filter((i) => (output.verbatim.get(lines[i]) ?? 0) === 0).map((i) => lines[i]);
    checks.push(check(`all ${carriers.length} lines carrying a term of the request verbatim`, missing));
  }
  return report('log', checks);
}
