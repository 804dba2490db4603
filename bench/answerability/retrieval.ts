/**
 * Retrieval as the middleware serves it: the store keeps each original under `contentHash(original)`,
 * and `headroom_retrieve` may narrow it with a `query` (lib/retrieval-query.ts, `filterOriginal`).
 */
import { contentHash, markerHashes } from '../../lib/ccr';

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
