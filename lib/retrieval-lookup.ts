/**
 * One retrieval, whatever asked for it (REST or MCP): find the original, check the caller may read
 * it, prefer a Headroom service's exact original for the service's own hashes, filter by query.
 */
import { ANY_OWNER, type RetrievalStore, type StoredRetrieval } from './ccr';
import type { Logger } from './logger';
import type { RetrievalServiceClient, ServiceOriginal } from './retrieval-fetch';
import type { RetrievalAccess } from './retrieval-options';
import { filterOriginalAsync, type FilteredOriginal } from './retrieval-query';

/** The 200 body, in the Headroom service's shape (plus `query`, `matched_count`, `total_count` with a query). */
export interface RetrievalBody {
  hash: string;
  original_content: string;
  /** An estimate, ceil(characters / 3), of the whole original: no tokenizer is loaded to serve a retrieval. */
  original_tokens: number;
  original_item_count: number | null;
  compressed_item_count: number | null;
  tool_name: string | null;
  retrieval_count: number;
  query?: string;
  matched_count?: number;
  total_count?: number;
}

export interface Retrieved {
  body: RetrievalBody;
  /** Set when a query filtered the original. */
  filtered?: FilteredOriginal;
}

export interface LookupDeps {
  store: RetrievalStore;
  service?: RetrievalServiceClient;
  logger: Logger;
}

function readable(stored: StoredRetrieval, access: RetrievalAccess): boolean {
  if ('all' in access) return true;
  return stored.owners.includes(ANY_OWNER) || stored.owners.includes(access.owner);
}

/** The service's original, or undefined (404, failure, timeout: logged without content, never thrown). */
async function fromService(deps: LookupDeps, hash: string): Promise<ServiceOriginal | undefined> {
  if (!deps.service) return undefined;
  try {
    return await deps.service.fetch(hash);
  } catch (err) {
    deps.logger.warn({ err: (err as Error)?.message?.slice(0, 200) }, 'headroomRetrieval: the Headroom service did not serve a retrieve; using the stored original');
    return undefined;
  }
}

async function build(hash: string, original: ServiceOriginal, query: string | undefined, signal: AbortSignal | undefined): Promise<Retrieved> {
  const body: RetrievalBody = {
    hash,
    original_content: original.original,
    original_tokens: Math.ceil(original.original.length / 3),
    original_item_count: original.originalItemCount ?? null,
    compressed_item_count: original.compressedItemCount ?? null,
    tool_name: original.toolName ?? null,
    retrieval_count: original.retrievalCount ?? 1,
  };
  if (query === undefined) return { body };
  // In slices, giving the event loop a turn between them: an original can be tens of megabytes.
  const filtered = await filterOriginalAsync(original.original, query, { signal });
  body.original_content = filtered.content;
  body.query = query;
  body.matched_count = filtered.matched;
  body.total_count = filtered.total;
  return { body, filtered };
}

/**
 * The original under `hash` for this caller, or undefined when it is unknown, expired, or not
 * theirs (the caller cannot tell which). Store errors propagate (the route answers 503).
 *
 * One lookup, counted: an authorised caller asking for another owner's hash adds one to its count
 * (reading an original twice, to count only readable ones, would double the cost of a large one).
 *
 * `signal`: the caller went away; filtering stops between two slices and the lookup rejects with
 * the signal's reason (`closeSignal` in ./retrieval-http makes one from a response).
 */
export async function lookup(deps: LookupDeps, hash: string, access: RetrievalAccess, query: string | undefined, signal?: AbortSignal): Promise<Retrieved | undefined> {
  const stored = await deps.store.get(hash, { count: true });
  if (!stored) {
    // No record: only a caller who may read everything may reach the service's own store.
    if (!('all' in access)) return undefined;
    const remote = await fromService(deps, hash);
    return remote ? build(hash, remote, query, signal) : undefined;
  }
  if (!readable(stored, access)) return undefined;
  const { record } = stored;
  const kept: ServiceOriginal = {
    original: record.original,
    toolName: record.toolName,
    originalItemCount: record.originalItemCount,
    compressedItemCount: record.compressedItemCount,
    retrievalCount: stored.retrievalCount,
  };
  if (record.source !== 'service') return build(hash, kept, query, signal);
  const remote = await fromService(deps, hash);
  if (!remote) return build(hash, kept, query, signal);
  return build(
    hash,
    {
      original: remote.original,
      toolName: remote.toolName ?? kept.toolName,
      originalItemCount: remote.originalItemCount ?? kept.originalItemCount,
      compressedItemCount: remote.compressedItemCount ?? kept.compressedItemCount,
      retrievalCount: stored.retrievalCount,
    },
    query,
    signal,
  );
}
