/**
 * Retrieval as the middleware serves it: the store keeps each original under `contentHash(original)`,
 * and `headroom_retrieve` may narrow it with a `query` (lib/retrieval-query.ts, `filterOriginal`).
 */
import { join } from 'node:path';
import { contentHash, markerHashes } from '../../lib/ccr';

export interface FilterResult {
  content: string;
  matched: number;
  total: number;
  unit: 'rows' | 'lines';
}
export type FilterOriginal = (original: string, query: string) => FilterResult;

/**
 * `filterOriginal`, or why it is unavailable. Loaded by path at run time so the bench runs (and
 * reports the query column as n/a) in a tree where the module has not landed yet.
 */
export function loadFilterOriginal(): { filter: FilterOriginal } | { error: string } {
  const path = join(__dirname, '..', '..', 'lib', 'retrieval-query');
  let mod: { filterOriginal?: unknown };
  try {
    mod = require(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && err.message.includes('retrieval-query')) return { error: 'lib/retrieval-query.ts is missing: retrieval with `query` not measured' };
    throw e;
  }
  if (typeof mod.filterOriginal !== 'function') return { error: 'lib/retrieval-query.ts does not export filterOriginal(original, query): retrieval with `query` not measured' };
  return { filter: mod.filterOriginal as FilterOriginal };
}

/** The retrieval store of a run: every original the harness sent, under its content hash. */
export class OriginalStore {
  private readonly byHash = new Map<string, string>();

  keep(original: string): void {
    this.byHash.set(contentHash(original), original);
  }

  /**
   * What retrieving the markers in `compressed` gives back for the output `original`: the original
   * when one of the markers names it, else null (no marker, or markers naming something else).
   */
  retrieve(compressed: string, original: string): { original: string | null; markers: number; foreign: number } {
    const hashes = markerHashes(compressed);
    const own = contentHash(original);
    let found: string | null = null;
    let foreign = 0;
    for (const hash of hashes) {
      const stored = this.byHash.get(hash);
      if (hash === own && stored === original) found = stored;
      else foreign++;
    }
    return { original: found, markers: hashes.length, foreign };
  }
}
