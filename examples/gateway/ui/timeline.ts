/**
 * A request's lifecycle, from the spend-log timestamps (epoch ms), laid out to scale:
 *
 *   received ─ headroom-compression (pre-call guardrail) ─ upstream call ─ response
 *
 * Positions are percentages of the request's span (received_at → ended_at), computed here on the
 * server; the page draws them with CSS `left`/`width` and no script.
 */
import type { SpendEntry } from '../spend';
import { fmtInt, fmtWholeMs } from './format';

export type StepId = 'received' | 'headroom-compression' | 'upstream' | 'response';

export interface TimelineStep {
  id: StepId;
  /** What the step is called on the page (the guardrail's name for the compression step). */
  name: string;
  /** Its place in the lifecycle: "gateway", "pre-call guardrail", "LLM API call", … */
  kind: string;
  /** Offsets from received_at, ms; null when the step did not happen. */
  start: number | null;
  end: number | null;
  /** Shown duration, ms (the compress step uses the middleware's own, sub-millisecond, measure). */
  durationMs: number | null;
  /** `durationMs` is the middleware's own timer (sub-millisecond), not a difference of millisecond timestamps. */
  precise: boolean;
  /** Upstream only: when the first byte of the answer arrived (offset, ms). */
  firstByte?: number | null;
  /** One line saying what happened, or why the step did not run. */
  note: string;
  /** Bar geometry, percent of the span. A step that did not run is a marker at `leftPct`. */
  leftPct: number;
  widthPct: number;
  firstBytePct?: number;
  ran: boolean;
}

export interface Timeline {
  /** received_at → ended_at, ms (at least 1, so a 0 ms request still has a scale). */
  spanMs: number;
  steps: TimelineStep[];
  /** Axis labels at 0, ¼, ½, ¾ and the whole span. */
  ticks: Array<{ pct: number; ms: number }>;
}

const clampPct = (v: number) => Math.min(100, Math.max(0, v));
const round2 = (v: number) => Math.round(v * 100) / 100;

/** Why the compression step did not call the compressor, in words. */
export function headroomNote(row: SpendEntry): string {
  switch (row.headroom_status) {
    case 'compressed':
      return `compressed: ${fmtInt(row.tokens_before)} → ${fmtInt(row.tokens_after)} tokens`;
    case 'audited':
      return `audited: would compress ${fmtInt(row.tokens_before)} → ${fmtInt(row.tokens_after)} tokens; the original bytes were forwarded`;
    case 'failed':
      return `failed (${row.headroom_error_code ?? 'error'}): ${row.upstream_started_at !== null ? 'forwarded uncompressed (fail open)' : `answered ${row.status} (fail closed)`}`;
    case 'skipped':
      return `not called: skipped (${row.headroom_reason ?? 'no reason recorded'})`;
    case 'bypassed':
      return 'not called: bypassed by the client (x-headroom-bypass: true)';
    case 'not_enabled':
      return 'not called: the guardrail is not attached to this key and the request did not opt in';
    default:
      return `did not run: the request was rejected before the pre-call step${row.error ? ` (${row.error})` : ''}`;
  }
}

export function timeline(row: SpendEntry): Timeline {
  const t0 = row.received_at;
  const stamps = [row.ended_at, row.headroom_ended_at, row.upstream_ended_at, row.upstream_first_byte_at].filter((t): t is number => typeof t === 'number');
  const spanMs = Math.max(1, Math.max(...stamps) - t0);
  const off = (t: number | null | undefined) => (typeof t === 'number' ? t - t0 : null);
  const pct = (ms: number) => round2(clampPct((ms / spanMs) * 100));
  const bar = (start: number, end: number) => ({ leftPct: pct(start), widthPct: round2(Math.max(0, pct(end) - pct(start))) });

  const hStart = off(row.headroom_started_at);
  const hEnd = off(row.headroom_ended_at);
  const uStart = off(row.upstream_started_at);
  const uFirst = off(row.upstream_first_byte_at);
  const uEnd = off(row.upstream_ended_at);
  const end = row.ended_at - t0;

  // received: authentication, body parsing, the model check (and the compression decision when the compressor was not called).
  const receivedEnd = hStart ?? uStart ?? end;
  const steps: TimelineStep[] = [
    {
      id: 'received',
      name: 'received',
      kind: 'gateway',
      start: 0,
      end: receivedEnd,
      durationMs: receivedEnd,
      precise: false,
      note: `${row.method} ${row.path}: authentication, body parsing, model check`,
      ran: true,
      ...bar(0, receivedEnd),
    },
  ];

  const guardrail = row.headroom?.guardrail ?? 'headroom-compression';
  if (hStart !== null && hEnd !== null) {
    steps.push({
      id: 'headroom-compression',
      name: guardrail,
      kind: 'pre-call guardrail',
      start: hStart,
      end: hEnd,
      durationMs: row.compress_ms ?? hEnd - hStart,
      precise: row.compress_ms !== null,
      note: headroomNote(row),
      ran: true,
      ...bar(hStart, hEnd),
    });
  } else {
    const at = uStart ?? end;
    steps.push({
      id: 'headroom-compression',
      name: guardrail,
      kind: 'pre-call guardrail',
      start: null,
      end: null,
      durationMs: null,
      precise: false,
      note: headroomNote(row),
      ran: false,
      leftPct: pct(at),
      widthPct: 0,
    });
  }

  if (uStart !== null) {
    const stop = uEnd ?? end;
    const answered = row.upstream_status !== null ? `answered ${row.upstream_status}` : `no answer (${row.error ?? 'error'})`;
    steps.push({
      id: 'upstream',
      name: 'upstream call',
      kind: `LLM API call${row.provider ? ` (${row.provider})` : ''}`,
      start: uStart,
      end: stop,
      durationMs: stop - uStart,
      precise: false,
      firstByte: uFirst,
      note: `${row.provider ?? 'provider'} ${answered}${uFirst !== null ? `; first byte after ${fmtWholeMs(uFirst - uStart)}` : ''}${row.stream ? ' (streamed)' : ''}`,
      ran: true,
      ...bar(uStart, stop),
      ...(uFirst !== null ? { firstBytePct: pct(uFirst) } : {}),
    });
  } else {
    steps.push({
      id: 'upstream',
      name: 'upstream call',
      kind: `LLM API call${row.provider ? ` (${row.provider})` : ''}`,
      start: null,
      end: null,
      durationMs: null,
      precise: false,
      note: `not called: the gateway answered ${row.status} itself${row.error ? ` (${row.error})` : ''}`,
      ran: false,
      leftPct: pct(end),
      widthPct: 0,
    });
  }

  const respStart = uEnd ?? (uStart !== null ? end : (hEnd ?? receivedEnd));
  steps.push({
    id: 'response',
    name: 'response',
    kind: 'gateway',
    start: respStart,
    end,
    durationMs: Math.max(0, end - respStart),
    precise: false,
    note: `HTTP ${row.status} to the client${row.status === 499 ? ' (the client went away)' : ''}`,
    ran: true,
    ...bar(respStart, end),
  });

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ pct: f * 100, ms: round2(f * spanMs) }));
  return { spanMs, steps, ticks };
}
