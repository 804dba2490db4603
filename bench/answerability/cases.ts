/** Every case of a run: `perKind` generated cases per kind (templates taken in turn), then the fixtures. */
import { caseSeed } from './prng';
import { fixtureCases } from './fixtures';
import { jsonGenerators } from './json';
import { listingGenerators } from './listing';
import { logGenerators } from './logs';
import { mixedGenerators } from './mixed';
import { tableGenerators } from './tables';
import { AnswerCase, Generator, Kind } from './types';

export const GENERATORS: Record<Exclude<Kind, 'fixtures'>, Generator[]> = {
  json: jsonGenerators,
  log: logGenerators,
  listing: listingGenerators,
  table: tableGenerators,
  mixed: mixedGenerators,
};

export function generatedCases(seed: number, perKind: number): AnswerCase[] {
  const out: AnswerCase[] = [];
  for (const [kind, generators] of Object.entries(GENERATORS)) {
    for (let i = 0; i < perKind; i++) {
      const id = `${kind}-${String(i + 1).padStart(2, '0')}`;
      out.push(generators[i % generators.length](caseSeed(seed, kind, i), id));
    }
  }
  return out;
}

export function allCases(seed: number, perKind: number): AnswerCase[] {
  return [...generatedCases(seed, perKind), ...fixtureCases()];
}
