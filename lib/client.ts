/**
 * The Headroom service client: one POST to `{apiBase}/v1/compress` over a keep-alive undici Agent,
 * bounded as a whole by `timeoutMs`, aborted when the client goes away, its reply validated with
 * zod. Every failure becomes a typed {@link HeadroomServiceError}; nothing here throws anything else.
 */
import type { Agent as UndiciAgent } from 'undici';
import type { CompressFunction, CompressRequest, CompressResponse, ServiceReply } from './contract';
import { serviceReplySchema } from './contract-schema';
import { HeadroomServiceError } from './errors';
import { RETRIEVAL_HASH, markerHashes } from './ccr';

/** What a 200 must look like: the contract's response, with the tolerances in `serviceReplySchema`. */
export type CompressReply = ServiceReply;

/** Only 12–24 lowercase hex entries are retrieval hashes; markers like `stable_prefix_hash:…` are not. */
function retrievalHashes(list: string[] | undefined): string[] {
  return list ? list.filter((h) => RETRIEVAL_HASH.test(h)) : [];
}

/**
 * Retrieval hashes the service reported, plus those it wrote into the text it returned: a service
 * may write a marker while its `ccr_hashes` is empty (seen on a real one). Unique, in first-seen order.
 */
export function hashesOf(reported: string[] | undefined, texts: readonly string[]): string[] {
  const out = new Set(retrievalHashes(reported));
  for (const text of texts) for (const h of markerHashes(text)) out.add(h);
  return [...out];
}

/**
 * A reply body as UTF-8 text, read to its end but never past `maxBytes`: past it the body is
 * destroyed and `tooLarge()` thrown. For every reply read from a Headroom service.
 */
export async function readBoundedText(body: AsyncIterable<unknown> & { destroy(): unknown }, maxBytes: number, tooLarge: () => Error): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export interface CompressCall {
  body: CompressRequest;
  /** Aborts the call (client gone). The timeout is added here. */
  signal: AbortSignal;
  timeoutMs: number;
}

export interface ServiceClient {
  compress(call: CompressCall): Promise<CompressReply>;
  close(): Promise<void>;
}

function validate(json: unknown, sentRows: number): CompressReply {
  const parsed = serviceReplySchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HeadroomServiceError('HEADROOM_INVALID_SHAPE', `Headroom reply does not match the /v1/compress contract: ${first.path.join('.') || 'body'} ${first.message}`);
  }
  if (parsed.data.messages.length !== sentRows) {
    throw new HeadroomServiceError('HEADROOM_ROW_COUNT', `Headroom reply has ${parsed.data.messages.length} messages for ${sentRows} sent`);
  }
  return parsed.data;
}

function combinedSignal(signal: AbortSignal, timeoutMs: number): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort(new HeadroomServiceError('HEADROOM_TIMEOUT', `Headroom did not answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => ctrl.abort(new HeadroomServiceError('HEADROOM_ABORTED', 'client went away during compression'));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ctrl.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

/** Calls a Headroom service over HTTP. */
export function createHttpClient(opts: {
  compressUrl: string;
  apiKey?: string;
  connections?: number;
  /** Replaces the keep-alive pool (unit tests pass undici's MockAgent). Not an option of the middleware. */
  dispatcher?: import('undici').Dispatcher;
}): ServiceClient {
  // Loaded here, not at import: undici takes ~100 ms to load, which users of the in-process
  // compressor never need to pay (measured in bench/package-cost.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Agent, request } = require('undici') as typeof import('undici');
  // One keep-alive pool per middleware: the compress hop should not pay a TCP handshake per request.
  const agent: Pick<UndiciAgent, 'close'> & import('undici').Dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: opts.connections ?? 64 });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;

  return {
    async compress({ body, signal, timeoutMs }) {
      const payload = JSON.stringify(body);
      // A reply may legitimately be a little larger than the request (JSON escaping); far larger is refused.
      const maxReplyBytes = Math.max(1024 * 1024, payload.length * 4);
      const bound = combinedSignal(signal, timeoutMs);
      try {
        const res = await request(opts.compressUrl, {
          method: 'POST',
          headers,
          body: payload,
          signal: bound.signal,
          dispatcher: agent,
        });
        const text = await readBoundedText(
          res.body,
          maxReplyBytes,
          () => new HeadroomServiceError('HEADROOM_REPLY_TOO_LARGE', `Headroom reply exceeds ${maxReplyBytes} bytes for a ${payload.length}-byte request`, res.statusCode),
        );
        if (res.statusCode !== 200) throw statusError(res.statusCode, text, opts.compressUrl);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new HeadroomServiceError('HEADROOM_INVALID_JSON', 'Headroom answered 200 with a body that is not JSON', 200);
        }
        return validate(json, body.messages.length);
      } catch (err) {
        throw toServiceError(err, bound);
      } finally {
        bound.dispose();
      }
    },
    close: () => agent.close(),
  };
}

/** Calls an in-process compressor with the same bounds and validation as the HTTP client. */
export function createInProcessClient(compressor: CompressFunction): ServiceClient {
  return {
    async compress({ body, signal, timeoutMs }) {
      const bound = combinedSignal(signal, timeoutMs);
      try {
        const aborted = new Promise<never>((_, reject) => {
          if (bound.signal.aborted) reject(bound.signal.reason);
          bound.signal.addEventListener('abort', () => reject(bound.signal.reason), { once: true });
        });
        aborted.catch(() => {});
        let result: CompressResponse;
        try {
          result = await Promise.race([Promise.resolve(compressor(structuredClone(body), { signal: bound.signal })), aborted]);
        } catch (err) {
          if (err instanceof HeadroomServiceError) throw err;
          const status = (err as { status?: number } | null | undefined)?.status;
          throw new HeadroomServiceError('HEADROOM_COMPRESSOR_THREW', `in-process compressor failed: ${(err as Error)?.message ?? err}`, status);
        }
        return validate(result, body.messages.length);
      } finally {
        bound.dispose();
      }
    },
    close: async () => {},
  };
}

function statusError(status: number, text: string, url: string): HeadroomServiceError {
  let detail = '';
  try {
    const j = JSON.parse(text);
    const e = j?.error;
    detail = typeof e === 'string' ? e : [e?.type, e?.message].filter(Boolean).join(': ');
  } catch {
    /* not JSON: no detail */
  }
  const suffix = detail ? ` (${detail.slice(0, 200)})` : '';
  if (status === 401) return new HeadroomServiceError('HEADROOM_UNAUTHORIZED', `Headroom answered 401 at ${url}${suffix}: check apiKey / HEADROOM_API_KEY`, status);
  if (status === 404 && text.length === 0) {
    return new HeadroomServiceError(
      'HEADROOM_NOT_FOUND',
      `Headroom answered 404 with no body at ${url}: the service refuses callers that are not on loopback; start it with HEADROOM_COMPRESS_ALLOW_REMOTE=1 or run it beside the gateway`,
      status,
    );
  }
  if (status === 404) {
    return new HeadroomServiceError(
      'HEADROOM_HTTP_STATUS',
      `Headroom answered 404 at ${url}${suffix}: is apiBase the service's root (the middleware appends /v1/compress)?`,
      status,
    );
  }
  if (status === 503) return new HeadroomServiceError('HEADROOM_SERVICE_ERROR', `Headroom answered 503 at ${url}${suffix}`, status);
  return new HeadroomServiceError('HEADROOM_HTTP_STATUS', `Headroom answered ${status} at ${url}${suffix}`, status);
}

function toServiceError(err: unknown, bound: { signal: AbortSignal; timedOut: () => boolean }): HeadroomServiceError {
  if (bound.signal.aborted && bound.signal.reason instanceof HeadroomServiceError) return bound.signal.reason;
  if (err instanceof HeadroomServiceError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  return new HeadroomServiceError('HEADROOM_UNREACHABLE', `Headroom unreachable${code ? ` (${code})` : ''}: ${e?.message ?? String(err)}`, undefined, { cause: err });
}
