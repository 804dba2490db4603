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
  /**
   * A memo hit forwards `compressed` again: its originals are kept again (a store's put renews the
   * time to live), at most once per {@link REFRESH_EVERY_MS} per owner and output, so a conversation
   * that goes on past the time to live still finds the originals of markers it read hours ago.
   */
  refresh(slot: TextSlot, compressed: string, owner: string): Promise<void>;
  /**
   * Hashes a service reported in `ccr_hashes` but wrote into no text: kept over the originals of the
   * outputs it compressed (joined), so they are retrievable like the others. Best effort: the model
   * never read them, so a failure costs nothing.
   */
  keepReported(hashes: string[], compressed: TextSlot[], owner: string): Promise<void>;
}

/** Both marker forms contain one of these; a text without either has no marker. */
const MARKER_HINT = /hash=|<<ccr:/;

/** How often one output's originals are re-kept on memo hits: an hour, small next to a 12 h time to live. */
export const REFRESH_EVERY_MS = 60 * 60 * 1000;
/** Refreshes remembered (bounded): past it the oldest are forgotten, and at worst kept again early. */
const MAX_REFRESHES_REMEMBERED = 10_000;

export function createOriginalKeeper(store: RetrievalStore, timeoutMs: number, logger: Logger): OriginalKeeper {
  let down = false;
  const refreshed = new Map<string, number>();

  /** Puts `original` under every hash: `local` where the hash is its content hash, else a service's. */
  function putAll(hashes: string[], original: string, toolName: string | undefined, owner: string): Promise<unknown> {
    const local = contentHash(original);
    const base: Omit<RetrievalRecord, 'source'> = { original, createdAt: Date.now() };
    if (toolName !== undefined) base.toolName = toolName;
    return withTimeout(Promise.all(hashes.map((h) => store.put(h, { ...base, source: h === local ? 'local' : 'service' }, owner))), timeoutMs, 'retrieval store');
  }

  // One output's compressed form, for one owner: its markers name it (no hash of the text needed).
  const refreshId = (owner: string, compressed: string) => `${owner.length}:${owner}${markerHashes(compressed).join(',')}`;
  function remember(id: string, now: number): void {
    refreshed.delete(id);
    refreshed.set(id, now);
    if (refreshed.size > MAX_REFRESHES_REMEMBERED) refreshed.delete(refreshed.keys().next().value!);
  }

  const keeper: OriginalKeeper = {
    async keep(slot, compressed, owner) {
      const hashes = newMarkerHashes(slot.text, compressed);
      if (hashes.length === 0) return true;
      try {
        await putAll(hashes, slot.text, slot.context?.call?.name, owner);
        remember(refreshId(owner, compressed), Date.now());
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

    async refresh(slot, compressed, owner) {
      // Most memo hits carry no marker: one scan of the (short) compressed text, and nothing else.
      if (!MARKER_HINT.test(compressed)) return;
      const last = refreshed.get(refreshId(owner, compressed));
      if (last !== undefined && Date.now() - last < REFRESH_EVERY_MS) return;
      // A failure is logged by keep(); the bytes forwarded are the memo's either way.
      await keeper.keep(slot, compressed, owner);
    },

    async keepReported(hashes, compressed, owner) {
      if (hashes.length === 0 || compressed.length === 0) return;
      const original = compressed.map((slot) => slot.text).join('\n\n');
      try {
        await putAll(hashes, original, compressed.length === 1 ? compressed[0].context?.call?.name : undefined, owner);
      } catch (err) {
        logger.warn({ err: (err as Error)?.message }, 'retrieval store unavailable; hashes reported only in ccr_hashes were not kept');
      }
    },
  };
  return keeper;
}
