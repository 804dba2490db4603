/**
 * The admin UI's building blocks without a server: escaping, the lifecycle geometry, formatting.
 */
import { escapeHtml, html, trusted } from '../../examples/gateway/ui/html';
import { fmtInt, fmtMs, fmtPct, fmtTick, fmtWholeMs } from '../../examples/gateway/ui/format';
import { timeline } from '../../examples/gateway/ui/timeline';
import type { SpendEntry } from '../../examples/gateway/spend';

describe('escapeHtml and html``', () => {
  test('escapes the five characters that matter in content and quoted attributes', () => {
    expect(escapeHtml('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(`a & b "c" 'd'`)).toBe('a &amp; b &quot;c&quot; &#39;d&#39;');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
    expect(escapeHtml(42)).toBe('42');
  });

  test('every interpolated value is escaped; only html`` results pass as markup', () => {
    const alias = '<img src=x onerror=alert(1)>';
    expect(html`<td title="${alias}">${alias}</td>`.value).toBe('<td title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.value).toBe('<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>');
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
    // A string that looks like markup is still text, even when it came from an earlier render.
    expect(html`${html`<b>x</b>`.value}`.value).toBe('&lt;b&gt;x&lt;/b&gt;');
    expect(html`<style>${trusted('a>b{}')}</style>`.value).toBe('<style>a>b{}</style>');
  });
});

describe('formatting', () => {
  test('durations, counts and shares', () => {
    expect(fmtMs(3.214)).toBe('3.21 ms');
    expect(fmtMs(45.66)).toBe('45.7 ms');
    expect(fmtMs(1234.4)).toBe('1,234 ms');
    expect(fmtMs(null)).toBe('—');
    expect(fmtWholeMs(0)).toBe('<1 ms');
    expect(fmtWholeMs(12)).toBe('12 ms');
    expect(fmtTick(0, 5)).toBe('0 ms');
    expect(fmtTick(1.25, 5)).toBe('1.3 ms');
    expect(fmtTick(25, 100)).toBe('25 ms');
    expect(fmtInt(12345)).toBe('12,345');
    expect(fmtPct(0.316)).toBe('31.6%');
    expect(fmtPct(1)).toBe('100%');
  });
});

describe('timeline', () => {
  const t0 = 1_750_000_000_000;
  const row = (over: Partial<SpendEntry>): SpendEntry =>
    ({
      request_id: 'r',
      method: 'POST',
      path: '/v1/messages',
      provider: 'anthropic',
      status: 200,
      error: null,
      stream: false,
      latency_ms: 100.4,
      received_at: t0,
      ended_at: t0 + 100,
      headroom_started_at: null,
      headroom_ended_at: null,
      upstream_started_at: null,
      upstream_first_byte_at: null,
      upstream_ended_at: null,
      upstream_status: null,
      headroom_status: null,
      headroom_reason: null,
      headroom_error_code: null,
      compress_ms: null,
      tokens_before: null,
      tokens_after: null,
      headroom: null,
      ...over,
    }) as SpendEntry;

  test('received → headroom-compression → upstream (waiting, receiving) → response, to scale', () => {
    const t = timeline(
      row({
        headroom_status: 'compressed',
        tokens_before: 4000,
        tokens_after: 1000,
        headroom_started_at: t0 + 10,
        headroom_ended_at: t0 + 30,
        compress_ms: 19.87,
        upstream_started_at: t0 + 40,
        upstream_first_byte_at: t0 + 60,
        upstream_ended_at: t0 + 90,
        upstream_status: 200,
      }),
    );
    expect(t.spanMs).toBe(100);
    expect(t.steps.map((s) => [s.id, s.leftPct, s.widthPct, s.durationMs, s.ran])).toEqual([
      ['received', 0, 10, 10, true],
      ['headroom-compression', 10, 20, 19.87, true],
      ['upstream', 40, 50, 50, true],
      ['response', 90, 10, 10, true],
    ]);
    expect(t.steps[1]).toMatchObject({ name: 'headroom-compression', kind: 'pre-call guardrail', precise: true, note: 'compressed: 4,000 → 1,000 tokens' });
    expect(t.steps[2].firstBytePct).toBe(60);
    expect(t.ticks.map((k) => k.ms)).toEqual([0, 25, 50, 75, 100]);
  });

  test('a skipped request: the compression step is a marker where the upstream call began, with the reason', () => {
    const t = timeline(
      row({
        headroom_status: 'skipped',
        headroom_reason: 'below_min_tokens',
        upstream_started_at: t0 + 5,
        upstream_first_byte_at: t0 + 50,
        upstream_ended_at: t0 + 98,
        upstream_status: 200,
      }),
    );
    const hr = t.steps[1];
    expect(hr).toMatchObject({ ran: false, durationMs: null, leftPct: 5, widthPct: 0 });
    expect(hr.note).toBe('not called: skipped (below_min_tokens)');
    expect(t.steps[0]).toMatchObject({ leftPct: 0, widthPct: 5 });
  });

  test('a 401: only the gateway ran; a fail-closed 502: the compress step, no upstream', () => {
    const rejected = timeline(row({ status: 401, error: 'unauthorized', ended_at: t0 }));
    expect(rejected.spanMs).toBe(1);
    expect(rejected.steps.map((s) => s.ran)).toEqual([true, false, false, true]);
    expect(rejected.steps[1].note).toContain('rejected before the pre-call step (unauthorized)');
    expect(rejected.steps[2].note).toBe('not called: the gateway answered 401 itself (unauthorized)');

    const closed = timeline(
      row({
        status: 502,
        headroom_status: 'failed',
        headroom_error_code: 'HEADROOM_TIMEOUT',
        headroom_started_at: t0 + 2,
        headroom_ended_at: t0 + 95,
        compress_ms: 93.1,
        ended_at: t0 + 96,
      }),
    );
    expect(closed.steps[1]).toMatchObject({ ran: true, durationMs: 93.1, note: 'failed (HEADROOM_TIMEOUT): answered 502 (fail closed)' });
    expect(closed.steps[2].ran).toBe(false);
    expect(closed.steps[3].start).toBe(95);
  });
});
