/**
 * How the transforms word what they left out, in the text of a retrieval marker (lib/ccr.ts):
 * `[188 of 200 rows omitted. Retrieve more: hash=<24 hex>]`. Counts are written with thousands
 * separators by hand, not with toLocaleString, so the bytes do not depend on the ICU data of the
 * process (the same output must always compress to the same bytes).
 */

/** `1204` → `1,204`. */
export function formatCount(n: number): string {
  const digits = String(Math.trunc(n));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

/** `1 pattern`, `6 patterns`. */
export function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}
