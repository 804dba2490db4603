/**
 * Caps on the client-chosen strings the gateway stores (spend log) or renders (admin UI, error
 * messages). Without them one request with a 20 MB model name puts 20 MB into a SQLite row and into
 * every /ui page that lists it. The README's "Limits" section lists them.
 */

/** Longest model name checked against a key's allow-list, and stored. Real model ids are < 100 chars. */
export const MAX_MODEL_CHARS = 256;
/** Longest request path stored in the spend log (the gateway's own routes are < 40 chars). */
export const MAX_PATH_CHARS = 2048;
/** Longest key alias (the key schema refuses longer ones) and UI alias filter. */
export const MAX_ALIAS_CHARS = 256;
/** Longest piece of client input quoted back in an error message (a path, an id, a filter value). */
export const MAX_ECHO_CHARS = 256;

/**
 * `value` cut to `max` characters with a visible marker naming the original length, so a reader of
 * the log can tell a truncated value from a real one. Never splits a UTF-16 surrogate pair (SQLite
 * would store half a character as U+FFFD).
 */
export function clip(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…[truncated, ${value.length} chars]`;
}

/** {@link clip} that passes null through (nullable spend-log columns). */
export function clipNullable(value: string | null, max: number): string | null {
  return value === null ? null : clip(value, max);
}
