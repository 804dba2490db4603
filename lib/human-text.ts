/**
 * The human request a user row carries: its text, without the `<system-reminder>` spans Claude Code
 * injects (they are not what the human asked). Shared by the middleware, which sends it with each
 * tool output as context, and the embedded compressor, which reads it back from the request.
 */
const REMINDER_OPEN = '<system-reminder>';
const REMINDER_CLOSE = '</system-reminder>';

/**
 * The text with every `<system-reminder>…</system-reminder>` span removed (Claude Code injects them
 * into user rows; they are not what the human asked). One indexOf scan: linear in the text.
 */
export function stripSystemReminders(text: string): string {
  let open = text.indexOf(REMINDER_OPEN);
  if (open === -1) return text;
  const kept: string[] = [];
  let from = 0;
  while (open !== -1) {
    const close = text.indexOf(REMINDER_CLOSE, open + REMINDER_OPEN.length);
    if (close === -1) break; // unclosed: the rest is text
    kept.push(text.slice(from, open));
    from = close + REMINDER_CLOSE.length;
    open = text.indexOf(REMINDER_OPEN, from);
  }
  kept.push(text.slice(from));
  return kept.join('');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The human request a user row carries, or undefined when it carries none (only tool results, only reminders). */
export function humanRequestText(content: unknown): string | undefined {
  const texts: string[] = [];
  const add = (text: string) => {
    const stripped = stripSystemReminders(text);
    if (stripped.trim().length > 0) texts.push(stripped.trim());
  };
  if (typeof content === 'string') add(content);
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (typeof part === 'string') add(part);
      else if (isRecord(part) && (part.type === 'text' || part.type === 'input_text') && typeof part.text === 'string') add(part.text);
    }
  }
  return texts.length === 0 ? undefined : texts.join('\n');
}
