/**
 * The admin UI's pages: template functions from data to HTML. Every value goes through `html`
 * (and so through `escapeHtml`); the only unescaped text is this file's own stylesheet.
 */
import type { HeadroomResult } from 'express-headroom';
import type { HeadroomStatusFilter, SpendEntry, SpendTotals } from '../spend';
import { DASH, fmtBytes, fmtInt, fmtMs, fmtPct, fmtTick, fmtTime, fmtWholeMs, utcOffset } from './format';
import { html, trusted, type SafeHtml } from './html';
import { timeline, type TimelineStep } from './timeline';

const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--accent:#0969da;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--hr:#8250df}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header{display:flex;align-items:center;gap:20px;padding:10px 24px;border-bottom:1px solid var(--line);background:var(--soft)}
header .brand{font-weight:600}header .brand span{color:var(--muted);font-weight:400}
header nav a{color:var(--fg);padding:4px 8px;border-radius:6px}header nav a.on{background:#fff;border:1px solid var(--line)}
header .spacer{flex:1}header form{margin:0}
main{max-width:1320px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:20px;margin:0 0 14px;font-weight:600}h2{font-size:15px;margin:0 0 10px;font-weight:600}
.muted{color:var(--muted)}.small{font-size:12px}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.num{text-align:right;font-variant-numeric:tabular-nums}
.totals{display:grid;grid-template-columns:repeat(4,1fr);border:1px solid var(--line);border-radius:8px;margin:0 0 6px}
.totals>div{padding:10px 16px;border-left:1px solid var(--line)}.totals>div:first-child{border-left:0}
.totals .label{font-size:12px;color:var(--muted)}.totals .value{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.totals .sub{font-size:12px;color:var(--muted)}
.caption{font-size:12px;color:var(--muted);margin:0 0 18px}
form.filters{display:flex;gap:12px;align-items:flex-end;flex-wrap:wrap;margin:0 0 12px}
label{display:flex;flex-direction:column;gap:3px;font-size:12px;color:var(--muted)}
select,input{font:inherit;color:var(--fg);height:32px;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:#fff;min-width:200px}
.scroll{overflow-x:auto}
button{font:inherit;height:32px;padding:0 14px;border:1px solid var(--line);border-radius:6px;background:var(--soft);color:var(--fg);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.filters .reset{align-self:center;margin-top:16px}
table{width:100%;border-collapse:collapse}
th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{font-size:12px;font-weight:600;color:var(--muted);background:var(--soft)}
tbody tr:hover{background:#f6f8fa}
td.path{max-width:260px;overflow:hidden;text-overflow:ellipsis}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:500;line-height:20px;background:#eaeef2;color:#424a53}
.b-compressed{background:#dafbe1;color:#116329}.b-failed{background:#ffebe9;color:#a40e26}
.b-bypassed{background:#fbefff;color:#6e40c9}.b-audited{background:#fff8c5;color:#7d4e00}.b-none{background:transparent;color:var(--muted);padding:0}
.http-2{color:var(--ok)}.http-4{color:var(--warn)}.http-5{color:var(--bad)}
.empty{padding:28px;text-align:center;color:var(--muted)}
.pager{display:flex;gap:4px;align-items:center;margin-top:14px;flex-wrap:wrap}
.pager a,.pager .cur,.pager .off{padding:2px 10px;border:1px solid var(--line);border-radius:6px}
.pager .cur{background:var(--accent);border-color:var(--accent);color:#fff}.pager .off{color:var(--muted)}
.pager .count{margin-left:auto;color:var(--muted);font-size:12px}
.panel{border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 16px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}
dl.kv{display:grid;grid-template-columns:190px 1fr;gap:5px 16px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
.chip{display:inline-block;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:0 6px;margin:0 4px 2px 0}
.alert{background:#ffebe9;border:1px solid #ffcecb;color:#82071e;padding:8px 12px;border-radius:6px;margin:0 0 12px}
.tl{display:grid;grid-template-columns:230px 1fr 88px;gap:4px 14px;align-items:center}
.tl .name{font-weight:500}.tl .kind{display:block;font-size:11px;color:var(--muted);font-weight:400}
.tl .track{position:relative;height:20px;background:var(--soft);border-radius:4px}
.tl .bar{position:absolute;top:3px;bottom:3px;min-width:3px;border-radius:3px;background:#8c959f}
.tl .bar.headroom-compression{background:var(--hr)}.tl .bar.upstream{background:var(--accent)}.tl .bar.wait{background:#9cc7f5}
.tl .marker{position:absolute;top:1px;bottom:1px;border-left:2px dashed #afb8c1}
.tl .dur{text-align:right;font-variant-numeric:tabular-nums;font-weight:500}
.tl .note{grid-column:2/4;font-size:12px;color:var(--muted);margin:-2px 0 8px}
.tl .row-hr .name{color:var(--hr)}
.axis{position:relative;height:16px;font-size:11px;color:var(--muted)}
.axis span{position:absolute;top:0;transform:translateX(-50%);white-space:nowrap}
.axis span:first-child{transform:none}.axis span:last-child{transform:translateX(-100%)}
.legend{font-size:12px;color:var(--muted);margin-top:6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 12px;vertical-align:-1px}
details summary{cursor:pointer;color:var(--muted);font-size:12px;margin-top:12px}
pre{background:var(--soft);border:1px solid var(--line);padding:10px 12px;border-radius:6px;overflow:auto;font-size:12px;margin:8px 0 0}
.login{max-width:400px;margin:12vh auto 0;border:1px solid var(--line);border-radius:10px;padding:26px 28px;background:#fff}
.login h1{margin-bottom:6px}.login p{margin:0 0 16px;color:var(--muted)}
.login input{width:100%;margin:4px 0 14px}.login button{width:100%;height:36px}
`;

const STATUS_LABELS: Record<HeadroomStatusFilter, string> = {
  compressed: 'compressed',
  audited: 'audited',
  skipped: 'skipped',
  bypassed: 'bypassed',
  not_enabled: 'not enabled',
  failed: 'failed',
  none: 'no record (rejected)',
};

export interface Chrome {
  /** Where compression happens, shown in the header. */
  compression: string;
  /** Signed in: show the navigation and the log-out button. */
  signedIn: boolean;
  active?: 'logs';
}

export function layout(title: string, chrome: Chrome, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title} · gateway admin</title>
<style>${trusted(CSS)}</style>
</head>
<body>
<header>
  <div class="brand">express-headroom gateway <span>admin</span></div>
  ${chrome.signedIn && html`<nav><a href="/ui" class="${chrome.active === 'logs' ? 'on' : ''}">Logs</a></nav>`}
  <div class="spacer"></div>
  <div class="muted small">compression: ${chrome.compression}</div>
  ${chrome.signedIn && html`<form method="post" action="/ui/logout"><button type="submit">Log out</button></form>`}
</header>
<main>
${body}
</main>
</body>
</html>
`.value;
}

// ---- login ---------------------------------------------------------------------------------------

export function loginPage(chrome: Chrome, opts: { error?: string; next?: string }): string {
  return layout(
    'Sign in',
    { ...chrome, signedIn: false },
    html`<div class="login">
  <h1>Sign in</h1>
  <p>With the gateway's master key (<span class="mono">MASTER_KEY</span>).</p>
  ${opts.error && html`<div class="alert" role="alert">${opts.error}</div>`}
  <form method="post" action="/ui/login">
    <label for="key">Master key</label>
    <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
    ${opts.next && html`<input type="hidden" name="next" value="${opts.next}">`}
    <button type="submit" class="primary">Sign in</button>
  </form>
</div>`,
  );
}

export function messagePage(chrome: Chrome, title: string, message: string): string {
  return layout(title, chrome, html`<h1>${title}</h1><p>${message}</p><p><a href="/ui">← Logs</a></p>`);
}

// ---- shared bits ---------------------------------------------------------------------------------

function statusBadge(status: string | null): SafeHtml {
  if (status === null) return html`<span class="badge b-none">${DASH}</span>`;
  return html`<span class="badge b-${status}">${STATUS_LABELS[status as HeadroomStatusFilter] ?? status}</span>`;
}

function httpStatus(status: number): SafeHtml {
  return html`<span class="mono http-${String(status)[0]}">${status}</span>`;
}

function headroomCell(row: SpendEntry): SafeHtml {
  const detail = row.headroom_status === 'failed' ? row.headroom_error_code : row.headroom_status === 'skipped' ? row.headroom_reason : null;
  return html`${statusBadge(row.headroom_status)}${detail && html` <span class="muted small">${detail}</span>`}`;
}

// ---- logs ----------------------------------------------------------------------------------------

export interface LogsView {
  rows: SpendEntry[];
  total: number;
  page: number;
  pages: number;
  perPage: number;
  filters: { key_alias?: string; status?: HeadroomStatusFilter };
  aliases: string[];
  totals: SpendTotals;
  /** Start of "today" (epoch ms, the gateway's local midnight). */
  since: number;
  /** A link to this list with other query values. */
  href(params: { page?: number }): string;
  /** A link to one request that keeps this list's filters for the way back. */
  detailHref(requestId: string): string;
}

function totalsStrip(v: LogsView): SafeHtml {
  const t = v.totals;
  return html`<section class="totals" aria-label="Today's totals" data-testid="totals">
  <div><div class="label">Requests today</div><div class="value" data-total="requests">${fmtInt(t.requests)}</div><div class="sub">${fmtInt(t.failed)} with a compression failure</div></div>
  <div><div class="label">Compressed</div><div class="value" data-total="share">${t.requests ? fmtPct(t.compressed / t.requests) : DASH}</div><div class="sub">${fmtInt(t.compressed)} of ${fmtInt(t.requests)} requests${t.audited > 0 && html`; ${fmtInt(t.audited)} audited`}</div></div>
  <div><div class="label">Tokens saved today</div><div class="value" data-total="tokens-saved">${fmtInt(t.tokens_saved)}</div><div class="sub">of ${fmtInt(t.tokens_before)} sent to the compressor${t.audited > 0 && html`; <span data-total="would-save">${fmtInt(t.tokens_would_save)}</span> more in audit mode`}</div></div>
  <div><div class="label">Compress step p50 / p95</div><div class="value" data-total="compress-p">${fmtMs(t.compress_p50_ms)} <span class="muted">/</span> ${fmtMs(t.compress_p95_ms)}</div><div class="sub">over ${fmtInt(t.compress_calls)} compressor calls</div></div>
</section>
<p class="caption">Today: since ${fmtTime(v.since)} (${utcOffset(v.since)})${v.filters.key_alias !== undefined && html`, key alias <b>${v.filters.key_alias}</b>`}.</p>`;
}

function filterForm(v: LogsView): SafeHtml {
  const aliases = v.filters.key_alias !== undefined && !v.aliases.includes(v.filters.key_alias) ? [v.filters.key_alias, ...v.aliases] : v.aliases;
  const statuses = Object.keys(STATUS_LABELS) as HeadroomStatusFilter[];
  return html`<form class="filters" method="get" action="/ui">
  <label>Key alias
    <select name="key_alias">
      <option value="">All keys</option>
      ${aliases.map((a) => html`<option value="${a}"${a === v.filters.key_alias && html` selected`}>${a}</option>`)}
    </select>
  </label>
  <label>Headroom status
    <select name="status">
      <option value="">All</option>
      ${statuses.map((s) => html`<option value="${s}"${s === v.filters.status && html` selected`}>${STATUS_LABELS[s]}</option>`)}
    </select>
  </label>
  <button type="submit" class="primary">Filter</button>
  ${(v.filters.key_alias !== undefined || v.filters.status !== undefined) && html`<a class="reset" href="/ui">Clear filters</a>`}
</form>`;
}

/** Page links: first, last, and two either side of the current one. */
function pager(v: LogsView): SafeHtml {
  const first = v.total === 0 ? 0 : (v.page - 1) * v.perPage + 1;
  const last = Math.min(v.total, v.page * v.perPage);
  const shown = new Set([1, v.pages, v.page - 2, v.page - 1, v.page, v.page + 1, v.page + 2].filter((p) => p >= 1 && p <= v.pages));
  const numbers = [...shown].sort((a, b) => a - b);
  const links: SafeHtml[] = [];
  numbers.forEach((p, i) => {
    if (i > 0 && p - numbers[i - 1] > 1) links.push(html`<span class="muted">…</span>`);
    links.push(p === v.page ? html`<span class="cur" aria-current="page">${p}</span>` : html`<a href="${v.href({ page: p })}">${p}</a>`);
  });
  return html`<nav class="pager" aria-label="Pages">
  ${v.page > 1 ? html`<a href="${v.href({ page: v.page - 1 })}" rel="prev">← Newer</a>` : html`<span class="off">← Newer</span>`}
  ${links}
  ${v.page < v.pages ? html`<a href="${v.href({ page: v.page + 1 })}" rel="next">Older →</a>` : html`<span class="off">Older →</span>`}
  <span class="count" data-testid="count">${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(v.total)}</span>
</nav>`;
}

/** What a request would have saved, for an audited one (its tokens_saved is null: nothing was). */
function wouldSave(row: SpendEntry): number | undefined {
  return row.headroom_status === 'audited' && row.tokens_before !== null && row.tokens_after !== null ? row.tokens_before - row.tokens_after : undefined;
}

function savedCell(row: SpendEntry): SafeHtml {
  const would = wouldSave(row);
  return would === undefined
    ? html`${fmtInt(row.tokens_saved)}`
    : html`<span class="muted" title="audit mode: the original bytes were forwarded">would save ${fmtInt(would)}</span>`;
}

function logRow(row: SpendEntry, v: LogsView): SafeHtml {
  return html`<tr data-request-id="${row.request_id}">
  <td class="mono"><a href="${v.detailHref(row.request_id)}">${fmtTime(row.received_at)}</a></td>
  <td>${row.key_alias ?? html`<span class="muted">${DASH}</span>`}</td>
  <td>${row.model ?? html`<span class="muted">${DASH}</span>`}</td>
  <td class="mono path" title="${row.method} ${row.path}">${row.method} ${row.path}</td>
  <td>${httpStatus(row.status)}</td>
  <td class="num">${fmtMs(row.latency_ms)}</td>
  <td>${headroomCell(row)}</td>
  <td class="num" data-col="tokens-saved">${savedCell(row)}</td>
</tr>`;
}

export function logsPage(chrome: Chrome, v: LogsView): string {
  const filtered = v.filters.key_alias !== undefined || v.filters.status !== undefined;
  return layout(
    'Logs',
    { ...chrome, active: 'logs' },
    html`<h1>Logs</h1>
${totalsStrip(v)}
${filterForm(v)}
<div class="scroll"><table>
  <thead><tr>
    <th>Time <span class="muted">(${utcOffset()})</span></th><th>Key alias</th><th>Model</th><th>Path</th><th>Status</th>
    <th class="num">Latency</th><th>Headroom</th><th class="num">Tokens saved</th>
  </tr></thead>
  <tbody>
  ${v.rows.length ? v.rows.map((r) => logRow(r, v)) : html`<tr><td colspan="8" class="empty">${filtered ? 'No requests match these filters.' : 'No requests yet: send one through /v1.'}</td></tr>`}
  </tbody>
</table></div>
${pager(v)}`,
  );
}

// ---- one request ---------------------------------------------------------------------------------

function timelineRow(step: TimelineStep): SafeHtml {
  const geometry = (left: number, width: number) => `left:${left}%;width:${width}%`;
  let track: SafeHtml;
  if (!step.ran) {
    track = html`<div class="marker" style="left:${step.leftPct}%" title="did not run"></div>`;
  } else if (step.id === 'upstream' && step.firstBytePct !== undefined) {
    // Waiting for the first byte, then receiving the answer.
    const wait = Math.max(0, step.firstBytePct - step.leftPct);
    const recv = Math.max(0, step.leftPct + step.widthPct - step.firstBytePct);
    track = html`<div class="bar wait" style="${geometry(step.leftPct, wait)}"></div><div class="bar upstream" style="${geometry(step.firstBytePct, recv)}"></div>`;
  } else {
    track = html`<div class="bar ${step.id}" style="${geometry(step.leftPct, step.widthPct)}"></div>`;
  }
  return html`<div class="step${step.id === 'headroom-compression' ? ' row-hr' : ''}" data-step="${step.id}"><span class="name">${step.name}</span><span class="kind">${step.kind}</span></div>
  <div class="track">${track}</div>
  <div class="dur" data-step-duration="${step.id}">${step.durationMs === null ? html`<span class="muted">not run</span>` : step.precise ? fmtMs(step.durationMs) : fmtWholeMs(step.durationMs)}</div>
  <div class="note" data-step-note="${step.id}">${step.note}</div>`;
}

function lifecycle(row: SpendEntry): SafeHtml {
  const t = timeline(row);
  return html`<section class="panel" aria-label="Lifecycle" data-testid="lifecycle">
  <h2>Lifecycle <span class="muted small">total ${fmtMs(row.latency_ms)}, received ${fmtTime(row.received_at, true)}</span></h2>
  <div class="tl">
    <div></div>
    <div class="axis">${t.ticks.map((k) => html`<span style="left:${k.pct}%">${fmtTick(k.ms, t.spanMs)}</span>`)}</div>
    <div></div>
    ${t.steps.map(timelineRow)}
  </div>
  <div class="legend"><i style="background:#8c959f"></i>gateway<i style="background:#8250df"></i>pre-call guardrail<i style="background:#9cc7f5"></i>waiting for first byte<i style="background:#0969da"></i>receiving the answer</div>
  <p class="small muted">Drawn to scale from the spend log's millisecond timestamps; the compress step's duration is the middleware's own sub-millisecond timer.</p>
</section>`;
}

function chips(list: readonly string[]): SafeHtml {
  return list.length ? html`${list.map((s) => html`<span class="chip">${s}</span>`)}` : html`<span class="muted">none</span>`;
}

function evaluation(row: SpendEntry): SafeHtml {
  const h: HeadroomResult | null = row.headroom;
  const applied = row.applied_guardrails;
  if (!h) {
    return html`<section class="panel" aria-label="Evaluation" data-testid="evaluation">
  <h2>Evaluation: headroom-compression</h2>
  <p class="muted">No headroom record: the request was rejected before the pre-call step${row.error && html` (<span class="mono">${row.error}</span>)`}.</p>
  <dl class="kv"><dt>Applied header</dt><dd data-field="applied">${applied === null ? html`<span class="muted">not sent</span>` : html`<span class="mono">${applied}</span>`}</dd></dl>
</section>`;
  }
  // Character counts of the whole request's compressible text (newer records only).
  const chars = h as { charsBefore?: number; charsAfter?: number };
  const saved = h.tokensBefore !== undefined && h.tokensAfter !== undefined && h.tokensBefore > 0 ? 1 - h.tokensAfter / h.tokensBefore : undefined;
  return html`<section class="panel" aria-label="Evaluation" data-testid="evaluation">
  <h2>Evaluation: ${h.guardrail} <span class="muted small">pre-call guardrail</span></h2>
  ${h.error && html`<div class="alert" role="alert" data-field="error"><b class="mono">${h.error.code}</b>: ${h.error.message}<br><span class="small">${row.upstream_started_at !== null ? 'Forwarded uncompressed (fail open).' : `Answered ${row.status} (fail closed).`}</span></div>`}
  <dl class="kv">
    <dt>Status</dt><dd data-field="status">${statusBadge(row.headroom_status)}</dd>
    <dt>Mode</dt><dd data-field="mode">${h.mode === 'audit' ? html`<b>audit</b> <span class="muted">computed and recorded; the original bytes were forwarded</span>` : (h.mode ?? 'compress')}</dd>
    <dt>Reason</dt><dd data-field="reason">${h.reason ?? html`<span class="muted">${DASH}</span>`}</dd>
    <dt>Tokens before</dt><dd class="mono" data-field="tokens-before">${fmtInt(h.tokensBefore)}</dd>
    <dt>Tokens after</dt><dd class="mono" data-field="tokens-after">${fmtInt(h.tokensAfter)}</dd>
    <dt>${h.mode === 'audit' ? 'Tokens it would save' : 'Tokens saved'}</dt><dd class="mono" data-field="tokens-saved">${fmtInt(h.tokensSaved)}${saved !== undefined && html` <span class="muted">(${fmtPct(saved)})</span>`}</dd>
    <dt>Compression ratio</dt><dd class="mono" data-field="ratio">${h.compressionRatio === undefined ? DASH : h.compressionRatio.toFixed(3)}${h.compressionRatio !== undefined && html` <span class="muted">(after ÷ before)</span>`}</dd>
    <dt>Estimated new tokens</dt><dd class="mono" data-field="estimated">${fmtInt(h.estimatedTokens)}</dd>
    <dt>Transforms</dt><dd data-field="transforms">${chips(h.transformsApplied)}</dd>
    <dt>Parts sent / compressed</dt><dd class="mono" data-field="parts">${h.partsSent} / ${h.partsCompressed}${h.partsRejected > 0 && html` <span class="muted">(${h.partsRejected} rejected)</span>`}</dd>
    ${chars.charsBefore !== undefined && chars.charsAfter !== undefined && html`<dt>Characters in → out</dt><dd class="mono" data-field="chars">${fmtInt(chars.charsBefore)} → ${fmtInt(chars.charsAfter)} <span class="muted">(memo hits included)</span></dd>`}
    <dt>Memo hits</dt><dd class="mono" data-field="memo-hits">${h.memoHits}</dd>
    <dt>Retrieval hashes</dt><dd class="mono" data-field="ccr">${h.ccrHashes.length}</dd>
    <dt>Compress step</dt><dd class="mono" data-field="duration">${h.startedAt === undefined ? html`<span class="muted">not called</span>` : fmtMs(h.durationMs)}</dd>
    <dt>Circuit breaker</dt><dd data-field="breaker">${h.breaker}</dd>
    <dt>Error</dt><dd data-field="error-code">${h.error ? html`<span class="mono">${h.error.code}</span>` : html`<span class="muted">${DASH}</span>`}</dd>
    <dt>Applied header</dt><dd data-field="applied">${applied === null ? html`<span class="muted">not sent</span>` : html`<span class="mono">x-litellm-applied-guardrails: ${applied}</span>`}</dd>
  </dl>
  <details><summary>The whole record (res.locals.headroom)</summary><pre class="mono">${JSON.stringify(h, null, 2)}</pre></details>
</section>`;
}

function requestPanel(row: SpendEntry): SafeHtml {
  const muted = (s: string) => html`<span class="muted">${s}</span>`;
  return html`<section class="panel" aria-label="Request" data-testid="request">
  <h2>Request</h2>
  <dl class="kv">
    <dt>Request id</dt><dd class="mono">${row.request_id}</dd>
    <dt>Received</dt><dd class="mono">${fmtTime(row.received_at, true)} <span class="muted">(${utcOffset(row.received_at)})</span></dd>
    <dt>Key alias</dt><dd data-field="key-alias">${row.key_alias ?? muted(row.key_token === 'master' ? 'master key' : DASH)}</dd>
    <dt>Model</dt><dd>${row.model ?? muted(DASH)}</dd>
    <dt>Endpoint</dt><dd class="mono">${row.method} ${row.path}</dd>
    <dt>Provider</dt><dd>${row.provider ?? muted(DASH)}${row.stream && html` <span class="muted">(streamed)</span>`}</dd>
    <dt>Status</dt><dd data-field="http-status">${httpStatus(row.status)}${row.upstream_status !== null && row.upstream_status !== row.status && html` <span class="muted">(upstream ${row.upstream_status})</span>`}</dd>
    <dt>Gateway error</dt><dd class="mono">${row.error ?? muted(DASH)}</dd>
    <dt>Total latency</dt><dd class="mono" data-field="latency">${fmtMs(row.latency_ms)}</dd>
    <dt>Body in → out</dt><dd class="mono">${fmtBytes(row.request_bytes)} → ${fmtBytes(row.forwarded_bytes)}</dd>
  </dl>
</section>`;
}

export function requestPage(chrome: Chrome, row: SpendEntry, back: string): string {
  return layout(
    `Request ${row.request_id}`,
    { ...chrome, active: 'logs' },
    html`<p class="small"><a href="${back}">← Logs</a></p>
<h1>Request <span class="mono muted">${row.request_id}</span> ${httpStatus(row.status)} ${row.headroom_status !== null && statusBadge(row.headroom_status)}</h1>
${lifecycle(row)}
<div class="cols">
${evaluation(row)}
${requestPanel(row)}
</div>`,
  );
}
