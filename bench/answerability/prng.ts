/**
 * A small seeded PRNG (mulberry32) and the draws the generators need. Never Math.random: a case must
 * be the same bytes on every run, so figures from two runs differ only because the compressor did.
 */
import { rng } from '../../examples/gateway/session';

export class Rng {
  /** Uniform in [0, 1): the project's one mulberry32 (also the example gateway's session generator). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = rng(seed);
  }

  /** Integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A value drawn from `items`, other than `not` (so a background row can be kept off the answer). */
  pickOther<T>(items: readonly T[], not: T): T {
    const others = items.filter((x) => x !== not);
    return this.pick(others);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** `count` distinct indexes in [0, n), sorted. */
  indexes(n: number, count: number): number[] {
    const all = Array.from({ length: n }, (_, i) => i);
    return this.shuffle(all)
      .slice(0, Math.min(count, n))
      .sort((a, b) => a - b);
  }

  hex(length: number): string {
    let s = '';
    while (s.length < length) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
}

/** A seed per (run seed, kind, case number), so adding a kind or a case leaves the others' bytes alone. */
export function caseSeed(seed: number, kind: string, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const c of `${kind}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** How many of `n` rows answer: a minority, 2–15% by default, never fewer than 2. */
export function answerCount(rng: Rng, n: number, min = 0.02, max = 0.15): number {
  return Math.max(2, Math.round(n * (min + rng.next() * (max - min))));
}

/** ISO timestamp `minutes` after a fixed base (a fixed base keeps the bytes independent of the clock). */
export function isoAt(minutes: number, base = Date.UTC(2026, 10, 1, 0, 0, 0)): string {
  return new Date(base + minutes * 60_000).toISOString().replace('.000Z', 'Z');
}

/** Log timestamp with milliseconds, `ms` after the base. */
export function logTime(ms: number, base = Date.UTC(2026, 10, 20, 9, 0, 0)): string {
  return new Date(base + ms).toISOString();
}
