/**
 * Whitespace-level clean-up shared by every transform. Nothing here changes what a reader sees in a
 * terminal: colour codes, overwritten progress output, trailing blanks and long runs of empty lines
 * carry no meaning for a model but cost tokens.
 */

/**
 * CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks, ended by BEL or ST) and
 * the two-character escapes. Tools run with a TTY (test runners, package managers) emit these.
 */
// eslint-disable-next-line no-control-regex -- ESC and BEL are the escapes this removes
const ANSI_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** Is there a blank at the end of any line (including the `\r` of a CRLF line end)? */
const HAS_TRAILING_WHITESPACE = /[ \t\r\f\v](?:\n|$)/;

/** Four newlines or more = three blank lines or more. */
const BLANK_LINE_RUN = /\n{4,}/g;

export function stripAnsi(text: string): string {
  // indexOf first: most tool output has no escape at all, and a failed search is cheaper than a regex pass.
  return text.indexOf('\x1b') === -1 ? text : text.replace(ANSI_ESCAPE, '');
}

/**
 * Keeps only what a terminal would show of lines that were redrawn with `\r` (e.g. `10%\r20%\r30%`):
 * the text after a line's last carriage return, unless that `\r` ends the line (CRLF). A scan per
 * line, not a `[^\n]*\r` regex, which retries from every position of a long line without one.
 */
export function dropOverwrittenText(text: string): string {
  if (text.indexOf('\r') === -1) return text;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const end = line.endsWith('\r') ? line.length - 1 : line.length;
    const lastCr = line.lastIndexOf('\r', end - 1);
    if (lastCr !== -1) lines[i] = line.slice(lastCr + 1);
  }
  return lines.join('\n');
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 12 || c === 11;
}

/**
 * Removes blanks at line ends. A scan from each line's end, not a `[ \t]+$` regex: that regex retries
 * at every blank of an indentation run, which makes pretty-printed JSON cost quadratic time per line.
 */
export function stripTrailingWhitespace(text: string): string {
  if (!HAS_TRAILING_WHITESPACE.test(text)) return text;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let end = line.length;
    while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
    if (end !== line.length) lines[i] = line.slice(0, end);
  }
  return lines.join('\n');
}

/** Three blank lines or more become one; one or two blank lines are layout (PEP 8 uses two) and stay. */
export function collapseBlankLines(text: string): string {
  return text.replace(BLANK_LINE_RUN, '\n\n');
}

/**
 * The clean-up every transform starts from: escapes, overwritten text and trailing blanks removed.
 * Leading indentation and single/double blank lines are kept, so code stays exactly as readable.
 */
export function cleanText(text: string): string {
  return stripTrailingWhitespace(dropOverwrittenText(stripAnsi(text)));
}

/** The rest of the whitespace transform, for text that went through cleanText already. */
export function finishWhitespace(cleaned: string): string {
  return collapseBlankLines(cleaned).replace(/^\n+/, '').replace(/\n+$/, '');
}

/** The whole whitespace transform, used for source code, prose and anything not recognised. */
export function normalizeWhitespace(text: string): string {
  return finishWhitespace(cleanText(text));
}
