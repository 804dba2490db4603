/**
 * Reversible compression (Headroom's CCR: compress, cache, retrieve), the parts every side shares:
 * the content hash that names an original, the marker forms written into compressed text, and the
 * retrieval store's interface. The compressor writes markers, the compress step keeps originals in a
 * {@link RetrievalStore}, and the retrieval router (`headroomRetrieval`) serves them back.
 */
import { createHash } from 'node:crypto';

/** Headroom's hash length in `hash=` markers: 24 lowercase hex characters (96 bits of SHA-256). */
export const HASH_LENGTH = 24;

/**
 * The hash that names an original: the first 24 hex characters of SHA-256 over its UTF-8 bytes. A
 * content hash, not a random id, so the same tool output always gets the same marker: the compressed
 * bytes of a turn never change, and the provider's prompt cache keeps its prefix.
 */
export function contentHash(original: string): string {
  return createHash('sha256').update(original, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/** A retrieval hash as Headroom names them: 12–24 lowercase hex. */
export const RETRIEVAL_HASH = /^[0-9a-f]{12,24}$/;

/** Both marker forms Headroom writes into compressed text: `hash=<24 hex>` and `<<ccr:<12–24 hex>[,…]>>`. */
const TEXT_MARKER = /hash=([0-9a-f]{24})(?![0-9a-f])|<<ccr:([0-9a-f]{12,24})(?![0-9a-f])/g;

/** Every retrieval hash written into `text`, in either marker form, unique, in first-seen order. */
export function markerHashes(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(TEXT_MARKER)) out.add(m[1] ?? m[2]);
  return [...out];
}

/**
 * The marker the embedded compressor writes after what it omitted, in Headroom's form so that any
 * client that knows Headroom's markers (and the `headroom_retrieve` tool) acts on it:
 * `[<what was omitted>. Retrieve more: hash=<24 hex>]`.
 */
export function retrievalMarker(omitted: string, hash: string): string {
  return `[${omitted}. Retrieve more: hash=${hash}]`;
}

/**
 * The names a `headroom_retrieve` tool call arrives under: the bare name, or prefixed by the client
 * that exposes an MCP server's tools (`mcp__headroom__headroom_retrieve` in Claude Code,
 * `headroom.headroom_retrieve` or `headroom__headroom_retrieve` elsewhere). Its output is an original
 * the model asked for: compressing it again would loop.
 */
export function isRetrievalToolName(name: unknown): boolean {
  if (typeof name !== 'string' || name.length > 256 || !name.endsWith('headroom_retrieve')) return false;
  if (name.length === 'headroom_retrieve'.length) return true;
  const before = name.charCodeAt(name.length - 'headroom_retrieve'.length - 1);
  // `_` `.` `/` `:` `-`: a namespace separator, not part of another tool's name.
  return before === 95 || before === 46 || before === 47 || before === 58 || before === 45;
}

/** One kept original. */
export interface RetrievalRecord {
  /** The original text (a whole tool output). */
  original: string;
  /**
   * `local`: the hash is this package's content hash of `original` (the embedded compressor's marker).
   * `service`: the hash is a Headroom service's; `original` is the whole tool output the service
   * compressed, served when the service cannot be reached for its own (exact) original.
   */
  source: 'local' | 'service';
  /** The tool that produced the output, when known (bounded to 256 characters). */
  toolName?: string;
  /** Rows or lines in the original, and how many the compressed text shows, when known. */
  originalItemCount?: number;
  compressedItemCount?: number;
  /** Epoch ms when first kept. */
  createdAt: number;
}

/** What a lookup finds: the record, who may read it, and how often it was retrieved (this lookup included when counted). */
export interface StoredRetrieval {
  record: RetrievalRecord;
  /** Owners allowed to read it; {@link ANY_OWNER} when it was kept with no owner. */
  owners: string[];
  retrievalCount: number;
}

/** The owner of originals kept by a middleware that has no notion of callers: any authorised reader. */
export const ANY_OWNER = '*';

/**
 * Where originals are kept, by hash. In-process (`LruRetrievalStore`, bounded in bytes) by default;
 * `RedisRetrievalStore` so that every instance of a fleet can serve what any one compressed.
 * Implementations bound their own entries' lifetime (time to live) and size.
 */
export interface RetrievalStore {
  /** Keeps `record` under `hash` (first write wins for the record) and adds `owner` to its readers. */
  put(hash: string, record: RetrievalRecord, owner: string): Promise<void>;
  /** The record under `hash`, or undefined when unknown or expired. `count`: add one to its retrieval count. */
  get(hash: string, options?: { count?: boolean }): Promise<StoredRetrieval | undefined>;
}
