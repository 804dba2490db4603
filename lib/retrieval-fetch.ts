/**
 * Asks a Headroom service for the original under one of its own hashes: `GET {apiBase}/v1/retrieve/{hash}`.
 * The service's original is exact (what it omitted); the stored one is the whole tool output it
 * compressed, served when the service cannot answer.
 */
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { readBoundedText } from './client';

/** Largest reply read from the service: as large as the middleware's largest request body. */
export const MAX_SERVICE_REPLY_BYTES = 64 * 1024 * 1024;

export interface ServiceOriginal {
  original: string;
  toolName?: string;
  originalItemCount?: number;
  compressedItemCount?: number;
  retrievalCount?: number;
}

export interface RetrievalServiceClient {
  /** The service's original, or undefined when it answers 404. Throws on any other failure (status, timeout, shape). */
  fetch(hash: string): Promise<ServiceOriginal | undefined>;
  close(): Promise<void>;
}

const count = z.number().int().nonnegative().optional().catch(undefined);
const replySchema = z.looseObject({
  original_content: z.string(),
  tool_name: z.string().max(256).nullable().optional().catch(undefined),
  original_item_count: count,
  compressed_item_count: count,
  retrieval_count: count,
});

function parseReply(text: string): ServiceOriginal {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('Headroom retrieve reply is not JSON');
  }
  const parsed = replySchema.safeParse(json);
  if (!parsed.success) throw new Error('Headroom retrieve reply has no original_content string');
  const r = parsed.data;
  return {
    original: r.original_content,
    toolName: r.tool_name ?? undefined,
    originalItemCount: r.original_item_count,
    compressedItemCount: r.compressed_item_count,
    retrievalCount: r.retrieval_count,
  };
}

/** A client for `apiBase`. Loads undici now: only routers that talk to a service pay for it. */
export function createRetrievalServiceClient(opts: { apiBase: string; apiKey?: string; timeoutMs: number }): RetrievalServiceClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Agent, request } = require('undici') as typeof import('undici');
  // Retrievals are rare (a model asks for an original now and then): a small keep-alive pool is enough.
  const agent: Dispatcher & { close(): Promise<void> } = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  // Built here, from options only: nothing of the caller's request (its Authorization above all) reaches the service.
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  return {
    async fetch(hash) {
      const res = await request(`${opts.apiBase}/v1/retrieve/${hash}`, {
        method: 'GET',
        headers,
        dispatcher: agent,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const declared = Number(res.headers['content-length']);
      if (declared > MAX_SERVICE_REPLY_BYTES) {
        res.body.destroy();
        throw new Error(`Headroom retrieve reply of ${declared} bytes exceeds ${MAX_SERVICE_REPLY_BYTES}`);
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        if (res.statusCode === 404) return undefined;
        throw new Error(`Headroom answered ${res.statusCode} to a retrieve`);
      }
      return parseReply(await readBoundedText(res.body, MAX_SERVICE_REPLY_BYTES, () => new Error(`Headroom retrieve reply exceeds ${MAX_SERVICE_REPLY_BYTES} bytes`)));
    },
    close: () => agent.close(),
  };
}
