/**
 * Keeps the original of every output whose compressed text carries a retrieval marker, so that no
 * marker the model reads points nowhere.
 *
 * - A marker whose hash is the content hash of the text sent is the embedded compressor's: the
 *   store gets the exact original (`source: 'local'`).
 * - Any other new marker is a Headroom service's: the store gets the whole tool output the service
 *   compressed (`source: 'service'`). Retrieval asks the service for its own original first and
 *   serves this copy when the service cannot be reached or has expired it (its default is 30 min).
 * - A hash already in the original text is not a marker of this compression (a log can print
 *   `hash=…`): it is never kept, so no output can claim another output's hash and with it read access.
 * - When the store cannot keep an original, that output goes on uncompressed (the caller puts the
 *   original back): a marker with nothing behind it would be a loss.
 */
import { contentHash, markerHashes, type RetrievalRecord, type RetrievalStore } from './ccr';
import type { TextSlot } from './codec';
import type { Logger } from './logger';
import { withTimeout } from './memo';

/** The markers `compressed` adds to `original`: hashes in it that the original did not already carry. */
export function newMarkerHashes(original: string, compressed: string): string[] {
  const found = markerHashes(compressed);
  if (found.length === 0) return found;
  const already = new Set(markerHashes(original));
  return found.filter((h) => !already.has(h));
}

export interface OriginalKeeper {
  /** Keeps the original behind each new marker of `compressed`; false when the store failed (nothing may point there). */
  keep(slot: TextSlot, compressed: string, owner: string): Promise<boolean>;
}

export function createOriginalKeeper(store: RetrievalStore, timeoutMs: number, logger: Logger): OriginalKeeper {
  let down = false;
  return {
    async keep(slot, compressed, owner) {
      const hashes = newMarkerHashes(slot.text, compressed);
      if (hashes.length === 0) return true;
      const local = contentHash(slot.text);
      const base: Omit<RetrievalRecord, 'source'> = { original: slot.text, createdAt: Date.now() };
      const toolName = slot.context?.call?.name;
      if (toolName !== undefined) base.toolName = toolName;
      try {
        await withTimeout(Promise.all(hashes.map((h) => store.put(h, { ...base, source: h === local ? 'local' : 'service' }, owner))), timeoutMs, 'retrieval store');
        if (down) {
          down = false;
          logger.warn({}, 'retrieval store available again');
        }
        return true;
      } catch (err) {
        if (!down) {
          down = true;
          logger.warn({ err: (err as Error)?.message }, 'retrieval store unavailable; outputs with retrieval markers go on uncompressed');
        }
        return false;
      }
    },
  };
}
