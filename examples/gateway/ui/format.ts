/** Number and time formatting for the admin UI (plain strings; the templates escape them). */

export const DASH = '—';

/** 12,345 */
export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined ? DASH : Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with the precision that means something at that size: 0.42 ms, 3.21 ms, 45.6 ms, 1,234 ms. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  const digits = ms < 10 ? 2 : ms < 100 ? 1 : 0;
  return `${ms.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ms`;
}

/** A duration from two millisecond timestamps: "12 ms", and "<1 ms" for 0 (not "0.00 ms": there is no such precision). */
export function fmtWholeMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  return ms < 1 ? '<1 ms' : `${fmtInt(ms)} ms`;
}

/** An axis label of a span of `spanMs`: as many decimals as the span needs. */
export function fmtTick(ms: number, spanMs: number): string {
  if (ms === 0) return '0 ms';
  const digits = spanMs >= 20 ? 0 : spanMs >= 2 ? 1 : 2;
  return `${ms.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ms`;
}

/** 0.316 → "31.6%" */
export function fmtPct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  return `${(fraction * 100).toFixed(fraction === 0 || fraction === 1 ? 0 : 1)}%`;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return DASH;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Epoch ms → "2025-06-01 14:03:09" in the gateway's local time zone (with `.123` when `ms`). */
export function fmtTime(epochMs: number, ms = false): string {
  const d = new Date(epochMs);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** The gateway's UTC offset, for labels: "UTC+02:00". */
export function utcOffset(at = Date.now()): string {
  const minutes = -new Date(at).getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Local midnight of the day of `at`. */
export function startOfDay(at = Date.now()): number {
  const d = new Date(at);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
