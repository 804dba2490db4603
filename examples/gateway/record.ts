/**
 * A finished /v1 request → one spend-log row (buffered, spend-buffer.ts) and its metrics. `begin` (request-state.ts) calls the
 * recorder when the response closes, so rejected, failed and abandoned requests get a row too.
 */
import type { Request, Response } from 'express';
import { APPLIED_HEADER, type HeadroomResult, type Logger } from 'express-headroom';
import type { GatewayMetrics } from './metrics';
import type { OnRequestEnd, RequestState } from './request-state';
import type { SpendBuffer } from './spend-buffer';
import { headroomColumns, type SpendEntry } from './spend';

export interface RecorderOptions {
  /** Rows go to the buffer (spend-buffer.ts), written off the request path. */
  spend: SpendBuffer;
  metrics: GatewayMetrics;
  logger: Logger;
  /** True once the gateway is closed: a response closing after that has no database to write to. */
  isClosed(): boolean;
}

/** The row for one request, from its state and what the response became. */
export function spendEntry(res: Response, st: RequestState): SpendEntry {
  const h = res.locals.headroom as HeadroomResult | undefined;
  const applied = res.getHeader(APPLIED_HEADER);
  return {
    request_id: st.id,
    key_token: st.master ? 'master' : (st.key?.token ?? null),
    key_alias: st.key?.key_alias ?? null,
    provider: st.route?.provider ?? null,
    method: st.method,
    path: st.path,
    model: st.model ?? null,
    stream: st.stream,
    // 499 (nginx's "client closed request"): the client left before any answer was sent.
    status: res.headersSent ? res.statusCode : 499,
    error: st.error ?? null,
    request_bytes: st.requestBytes,
    forwarded_bytes: st.forwardedBytes,
    latency_ms: Math.round((performance.now() - st.t0) * 100) / 100,
    received_at: st.receivedAt,
    ended_at: Date.now(),
    upstream_started_at: st.upstreamStartedAt,
    upstream_first_byte_at: st.upstreamFirstByteAt,
    upstream_ended_at: st.upstreamEndedAt,
    upstream_status: st.upstreamStatus,
    applied_guardrails: applied === undefined ? null : String(applied),
    ...headroomColumns(h),
  };
}

export function recorder(opts: RecorderOptions): OnRequestEnd {
  return (_req: Request, res: Response, st: RequestState): void => {
    if (opts.isClosed()) return;
    // Closed before the response finished: the client hung up (unless a step already said why).
    if (!res.writableFinished && !st.error) st.error = 'client_closed';
    const entry = spendEntry(res, st);
    // The buffer never throws and never waits; a failing metric must not take the request down with it.
    opts.spend.add(entry);
    try {
      opts.metrics.observe(entry);
    } catch (err) {
      opts.logger.error({ err: (err as Error)?.message, request_id: st.id }, 'metrics failed');
    }
  };
}
