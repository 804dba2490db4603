/**
 * The model wildcard of a key's `models` (`claude-*`): the same answers as a brute-force glob
 * matcher, and no backtracking blow-up on a long client-chosen name.
 */
import fc from 'fast-check';
import { modelAllowed, modelMatches } from '../../examples/gateway/routing';

/** Reference: dynamic programming over (pattern prefix, name prefix); obviously right, O(n·m). */
function reference(pattern: string, name: string): boolean {
  // can[j]: pattern[0..i) matches name[0..j)
  let can = Array.from({ length: name.length + 1 }, (_, j) => j === 0);
  for (const p of pattern) {
    const next = new Array<boolean>(name.length + 1).fill(false);
    for (let j = 0; j <= name.length; j++) {
      if (p === '*') next[j] = can[j] || (j > 0 && next[j - 1]);
      else next[j] = j > 0 && can[j - 1] && name[j - 1] === p;
    }
    can = next;
  }
  return can[name.length];
}

// A small alphabet, so generated names often match; `.`, `+` and `?` would mean something in a RegExp.
const unit = fc.constantFrom('a', 'b', '-', '.', '+', '?');
const pattern = fc.string({ unit: fc.oneof(unit, fc.constant('*')), maxLength: 10 });
const name = fc.string({ unit, maxLength: 14 });

describe('modelMatches', () => {
  test('examples', () => {
    expect(modelMatches('claude-*', 'claude-opus-4-5')).toBe(true);
    expect(modelMatches('claude-*', 'gpt-4o')).toBe(false);
    expect(modelMatches('claude-*-*-latest', 'claude-3-5-sonnet-latest')).toBe(true);
    expect(modelMatches('claude-*-*-latest', 'claude-3-latest')).toBe(false);
    expect(modelMatches('gpt-4o', 'gpt-4o')).toBe(true);
    expect(modelMatches('gpt-4o', 'gpt-4o-mini')).toBe(false);
    expect(modelMatches('gpt-4.1', 'gpt-4x1')).toBe(false); // `.` is a character, not "any"
    expect(modelMatches('a*a', 'a')).toBe(false); // prefix and suffix may not share a character
    expect(modelMatches('*', '')).toBe(true);
    expect(modelAllowed([], 'anything')).toBe(true);
    expect(modelAllowed(['x-*', 'gpt-4o'], 'gpt-4o')).toBe(true);
  });

  test('agrees with a brute-force matcher on generated patterns and names', () => {
    fc.assert(
      fc.property(pattern, name, (p, n) => modelMatches(p, n) === reference(p, n)),
      { numRuns: 5000 },
    );
  });

  test('agrees on names built from the pattern (each * filled in), which mostly match', () => {
    const filled = pattern.chain((p) =>
      fc.array(fc.string({ unit, maxLength: 4 }), { minLength: p.split('*').length, maxLength: p.split('*').length }).map((fills) => {
        const pieces = p.split('*');
        return [p, pieces.map((piece, i) => (i === 0 ? piece : fills[i] + piece)).join('')] as const;
      }),
    );
    fc.assert(
      fc.property(filled, ([p, n]) => {
        expect(modelMatches(p, n)).toBe(true);
        return reference(p, n);
      }),
      { numRuns: 2000 },
    );
  });

  test('a 1 MB name against a*a*a*a*b: answered (a backtracking RegExp would not return)', () => {
    const huge = 'a'.repeat(1024 * 1024);
    expect(modelMatches('a*a*a*a*b', huge)).toBe(false);
    expect(modelMatches('a*a*a*a*b', `${huge}b`)).toBe(true);
    expect(modelMatches('claude-*-*-latest', `claude-${'-'.repeat(1024 * 1024)}`)).toBe(false);
  });
});
