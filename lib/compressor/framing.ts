/**
 * A tool's own framing around the output it ran: the Codex CLI puts a header in front of every
 * command's output,
 *
 *   Chunk ID: 873232
 *   Wall time: 0.0000 seconds
 *   Process exited with code 0
 *   Original token count: 5626
 *   Output:
 *   [Warning: truncated output (original token count: 5626)]
 *   [Total output lines: 1085]
 *
 * and the kind of the text (JSON, a log, a listing) is the kind of what follows. Detected on the
 * body, transformed on the body, the header kept verbatim. Only the first lines are looked at.
 */

/** Lines a header may hold before `Output:`, and after it (the truncation notes). */
const HEADER_LINE = /^(?:Chunk ID|Wall time|Process exited with code|Process running with session ID|Original token count|Exit code|Duration)\b[^\n]{0,200}$/;
const AFTER_OUTPUT_LINE = /^(?:Warning: truncated output\b[^\n]{0,200}|Total output lines: \d{1,12}|)$/;
const MAX_HEADER_LINES = 12;

export interface Framed {
  /** The header, through its last line and that line's newline (empty when there is none). */
  head: string;
  body: string;
}

/** Splits a Codex-style header off the text; `head` is empty when the text has none. */
export function splitFraming(text: string): Framed {
  let start = 0;
  let sawOutput = false;
  for (let line = 0; line < MAX_HEADER_LINES; line++) {
    const end = text.indexOf('\n', start);
    if (end === -1) break;
    const current = text.slice(start, end);
    if (!sawOutput) {
      if (current === 'Output:') sawOutput = true;
      else if (!HEADER_LINE.test(current)) return { head: '', body: text };
    } else if (!AFTER_OUTPUT_LINE.test(current)) break;
    start = end + 1;
  }
  return sawOutput ? { head: text.slice(0, start), body: text.slice(start) } : { head: '', body: text };
}
