/**
 * Prometheus metrics on the gateway's own prom-client Registry (nothing global, so two gateways in
 * one process, as in tests, do not collide). Labels are bounded: provider, key alias (set by the
 * admin), headroom status, HTTP status.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SpendEntry } from './spend';

export interface GatewayMetrics {
  registry: Registry;
  /** Counts one finished request (the same entry the spend log gets). */
  observe(entry: SpendEntry): void;
  /** Spend-log rows dropped because the buffer was full (the store away too long). */
  spendRowsDropped: Counter;
  /** Spend-log rows waiting to be written. */
  spendRowsBuffered: Gauge;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Requests under /v1, by provider, HTTP status and headroom status ("none" when the middleware did not decide, e.g. 401).',
    labelNames: ['provider', 'code', 'headroom_status'] as const,
    registers: [registry],
  });
  const headroomRequests = new Counter({
    name: 'headroom_requests_total',
    help: 'Requests the headroom middleware decided on, by status: compressed, audited (audit mode: would have compressed), skipped, bypassed, not_enabled, failed.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const tokensSaved = new Counter({
    name: 'headroom_tokens_saved_total',
    help: 'Tokens saved by compression, as reported by the compressor (new tool output; history is replayed from the memo).',
    labelNames: ['provider', 'key_alias'] as const,
    registers: [registry],
  });
  const tokensAudited = new Counter({
    name: 'headroom_tokens_audited_total',
    help: 'Tokens audit mode would have saved (tokens before − after of audited requests; the original bytes were forwarded).',
    labelNames: ['provider', 'key_alias'] as const,
    registers: [registry],
  });
  const tokensBefore = new Counter({
    name: 'headroom_tokens_before_total',
    help: 'Tokens sent to the compressor.',
    labelNames: ['provider', 'key_alias'] as const,
    registers: [registry],
  });
  const tokensAfter = new Counter({
    name: 'headroom_tokens_after_total',
    help: 'Tokens the compressor returned.',
    labelNames: ['provider', 'key_alias'] as const,
    registers: [registry],
  });
  const compressSeconds = new Histogram({
    name: 'headroom_compress_duration_seconds',
    help: 'Duration of compress calls (only requests where the compressor was called).',
    labelNames: ['status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'Time from request received to response finished (whole stream included), by provider.',
    labelNames: ['provider'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });

  const spendRowsDropped = new Counter({
    name: 'gateway_spend_rows_dropped_total',
    help: 'Spend-log rows dropped because the write buffer was full (the database unreachable for longer than the buffer holds).',
    registers: [registry],
  });
  const spendRowsBuffered = new Gauge({
    name: 'gateway_spend_rows_buffered',
    help: 'Spend-log rows waiting to be written to the database.',
    registers: [registry],
  });

  return {
    registry,
    spendRowsDropped,
    spendRowsBuffered,
    observe(e) {
      const provider = e.provider ?? 'none';
      requests.inc({ provider, code: String(e.status), headroom_status: e.headroom_status ?? 'none' });
      requestSeconds.observe({ provider }, e.latency_ms / 1000);
      if (e.headroom_status) headroomRequests.inc({ status: e.headroom_status });
      const labels = { provider, key_alias: e.key_alias ?? '' };
      if (e.tokens_saved !== null && e.tokens_saved > 0) tokensSaved.inc(labels, e.tokens_saved);
      if (e.headroom_status === 'audited' && e.tokens_before !== null && e.tokens_after !== null && e.tokens_before > e.tokens_after)
        tokensAudited.inc(labels, e.tokens_before - e.tokens_after);
      if (e.tokens_before !== null) tokensBefore.inc(labels, e.tokens_before);
      if (e.tokens_after !== null) tokensAfter.inc(labels, e.tokens_after);
      if (e.headroom_started_at !== null && e.compress_ms !== null) compressSeconds.observe({ status: e.headroom_status ?? 'none' }, e.compress_ms / 1000);
    },
  };
}
