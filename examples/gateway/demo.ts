/**
 * `npm run demo`: the gateway's main job on one screen, offline, in a few seconds.
 *
 * Starts (all on 127.0.0.1, ephemeral ports) a local stand-in for api.anthropic.com and the gateway
 * with the embedded compressor and a temporary SQLite file; creates a virtual key with
 * guardrails ["headroom-compression"] through POST /key/generate; replays a Claude Code session
 * through it as Claude Code sends it (streaming /v1/messages, Authorization: Bearer <virtual key>);
 * prints, per turn, the tokens the compressor saw and saved and the applied-guardrails header; and
 * checks what reached the upstream. Nothing leaves the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from './app';
import { compress } from './compressor';
import { CLAUDE_CODE_HEADERS, claudeCodeSession } from './session';
import type { SpendEntry } from './spend';
import { startUpstreamStandIn } from './upstream-standin';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const PROVIDER_KEY = 'sk-ant-demo-provider-key';

const fmt = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n.toLocaleString('en-US'));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
const lpad = (s: string, n: number) => s.padStart(n);

/** Why a turn shows no counts: the compressor was not called for it. */
function explain(row: SpendEntry | undefined): string {
  const history = row?.headroom_status === 'compressed' ? '; history replayed from the memo' : '';
  switch (row?.headroom_reason) {
    case 'nothing_compressible':
      return 'no tool output yet';
    case 'below_min_tokens':
      return `new output under minTokens${history}`;
    case 'memo':
    case 'nothing_new':
      return `nothing new${history}`;
    default:
      return `${row?.headroom_status ?? 'no record'}${row?.headroom_reason ? `: ${row.headroom_reason}` : ''}`;
  }
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-demo-'));
  const session = claudeCodeSession();
  const upstream = await startUpstreamStandIn({ requireKeys: { anthropic: PROVIDER_KEY } });
  // The stand-in "model" answers with the session's next assistant turn.
  upstream.script = (r) => {
    const msgs: Array<{ role: string }> = Array.isArray(r.json?.messages) ? r.json.messages : [];
    return session.answers[msgs.filter((m) => m.role === 'assistant').length];
  };
  const masterKey = `sk-master-demo-${process.pid}`;
  const gateway = createGateway({
    masterKey,
    databasePath: join(dir, 'gateway.db'),
    anthropicUpstream: upstream.url,
    openaiUpstream: upstream.url,
    anthropicApiKey: PROVIDER_KEY,
    compressor: compress,
    logger: quiet,
  });
  const server: Server = await new Promise((resolve) => {
    const s = gateway.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const failures: string[] = [];

  try {
    console.log('express-headroom gateway demo');
    console.log(`  gateway   ${url}  (compression: ${gateway.compression}, in-process; database ${join(dir, 'gateway.db')})`);
    console.log(`  upstream  ${upstream.url}  (local stand-in for api.anthropic.com; nothing leaves this machine)`);

    const gen = await fetch(`${url}/key/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key_alias: 'claude-code-demo', guardrails: ['headroom-compression'], models: ['claude-*'] }),
    });
    const key = (await gen.json()) as { key: string; key_name: string; key_alias: string; guardrails: string[] };
    if (gen.status !== 200) throw new Error(`POST /key/generate answered ${gen.status}: ${JSON.stringify(key)}`);
    console.log(`  key       ${key.key_alias} (${key.key_name}) from POST /key/generate, guardrails ${JSON.stringify(key.guardrails)}`);
    console.log('');
    console.log(`  ${pad('turn', 5)}${pad('newest tool output', 44)}${lpad('before', 8)}${lpad('after', 8)}${lpad('saved', 8)}  x-litellm-applied-guardrails`);

    const ids: string[] = [];
    const applied: string[] = [];
    for (const turn of session.turns) {
      const res = await fetch(url + turn.path, {
        method: 'POST',
        headers: { ...CLAUDE_CODE_HEADERS, authorization: `Bearer ${key.key}` },
        body: JSON.stringify(turn.body),
      });
      const stream = await res.text(); // the whole SSE stream, as Claude Code reads it
      if (res.status !== 200 || !stream.includes('event: message_stop')) failures.push(`turn ${ids.length + 1}: status ${res.status}`);
      ids.push(res.headers.get('x-litellm-call-id') ?? '');
      applied.push(res.headers.get('x-litellm-applied-guardrails') ?? '(none)');
    }

    // The spend log row is written when the response closes: wait until all are in.
    let logs: SpendEntry[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${url}/spend/logs?limit=100`, { headers: { authorization: `Bearer ${masterKey}` } });
      logs = (await r.json()) as SpendEntry[];
      if (ids.every((id) => logs.some((l) => l.request_id === id))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    let saved = 0;
    let before = 0;
    session.turns.forEach((turn, i) => {
      const row = logs.find((l) => l.request_id === ids[i]);
      // No counts: the compressor was not called for this turn; say why (history rows still came from the memo).
      const note = row?.tokens_before == null ? `  (${explain(row)})` : '';
      saved += row?.tokens_saved ?? 0;
      before += row?.tokens_before ?? 0;
      console.log(
        `  ${pad(String(i + 1), 5)}${pad(turn.label, 44)}${lpad(fmt(row?.tokens_before), 8)}${lpad(fmt(row?.tokens_after), 8)}${lpad(fmt(row?.tokens_saved), 8)}  ${applied[i]}${note}`,
      );
    });

    // What reached the upstream.
    const got = upstream.requests.filter((r) => r.path === '/v1/messages');
    const clientBytes = session.turns.reduce((n, t) => n + Buffer.byteLength(JSON.stringify(t.body)), 0);
    const upstreamBytes = got.reduce((n, r) => n + r.raw.length, 0);
    const check = (ok: boolean, text: string) => {
      console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${text}`);
      if (!ok) failures.push(text);
    };
    console.log('');
    check(
      got.length === session.turns.length,
      `upstream received ${got.length} of ${session.turns.length} requests, ${kb(upstreamBytes)} of the ${kb(clientBytes)} the client sent`,
    );
    check(
      got.every((r) => r.headers['x-api-key'] === PROVIDER_KEY && !r.raw.includes(key.key) && r.headers.authorization === undefined),
      'each carried the provider key as x-api-key; the virtual key never went upstream',
    );
    const signatures = (body: any) =>
      (body?.messages ?? [])
        .flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))
        .filter((b: any) => b.type === 'thinking')
        .map((b: any) => b.signature);
    check(
      got.every(
        (r, i) =>
          JSON.stringify(signatures(r.json)) === JSON.stringify(signatures(session.turns[i].body)) &&
          JSON.stringify(r.json.system) === JSON.stringify(session.turns[i].body.system),
      ),
      'system blocks (with cache_control) and thinking signatures arrived unchanged',
    );
    check(logs.length === session.turns.length && logs.every((l) => l.key_alias === 'claude-code-demo'), `GET /spend/logs holds ${logs.length} rows for key claude-code-demo`);
    await demoRetrieval(url, masterKey, key.key, got, check);
    console.log('');
    console.log(
      `Total tokens saved: ${fmt(saved)} of ${fmt(before)} tokens of tool output compressed (${before ? Math.round((saved / before) * 100) : 0}%), ` +
        `each output compressed once and replayed from the memo on later turns.`,
    );
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await gateway.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length) {
    console.error(`demo failed: ${failures.join('; ')}`);
    return 1;
  }
  return 0;
}

/**
 * Nothing compression dropped is out of reach: the first marker the model read is retrieved with the
 * key that sent it (whole, then only the rows matching a query); another key gets the unknown-hash 404.
 */
async function demoRetrieval(url: string, masterKey: string, virtualKey: string, got: Array<{ raw: Buffer }>, check: (ok: boolean, text: string) => void): Promise<void> {
  const hash = got.map((r) => /hash=([0-9a-f]{24})/.exec(r.raw.toString())?.[1]).find((h) => h !== undefined);
  if (!hash) return check(false, 'a retrieval marker reached the upstream');
  const asKey = (k: string, init: RequestInit = {}) => ({ ...init, headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' } });
  const whole = (await (await fetch(`${url}/v1/retrieve/${hash}`, asKey(virtualKey))).json()) as { original_content?: string; original_tokens?: number };
  check(typeof whole.original_content === 'string', `GET /v1/retrieve/${hash} with the key gave back the original (${fmt(whole.original_tokens)} tokens, estimated)`);
  const queried = (await (await fetch(`${url}/v1/retrieve`, asKey(virtualKey, { method: 'POST', body: JSON.stringify({ hash, query: 'error' }) }))).json()) as {
    matched_count?: number;
    total_count?: number;
  };
  check(typeof queried.matched_count === 'number', `POST /v1/retrieve {hash, query: "error"} returned ${queried.matched_count} of ${queried.total_count} items`);
  const other = await fetch(`${url}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: '{"key_alias":"another-team"}',
  });
  const otherKey = ((await other.json()) as { key: string }).key;
  const refused = await fetch(`${url}/v1/retrieve/${hash}`, asKey(otherKey));
  check(refused.status === 404, `another key asking for the same hash got ${refused.status}, as for an unknown hash`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
