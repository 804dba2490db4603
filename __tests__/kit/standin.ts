/**
 * A Headroom stand-in on loopback that keeps the `/v1/compress` contract of HEADROOM.md and can be
 * told to fail in each way the middleware must survive. Its compression is deliberately simple and
 * visible (`[standin:N chars] head…`) so tests can tell compressed text from original.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { listenOnLoopback } from './listen';

export type StandInMode =
  | 'ok'
  | 'vary' // a different answer on every call (output "depends on context")
  | 'mangle' // changes roles, turns text into objects, grows rows
  | 'hang' // never answers
  | 'reset' // accepts, then resets the connection
  | 'trickle' // answers a byte at a time, slowly
  | 'status500'
  | 'status503'
  | 'status401'
  | 'status404' // bare 404, no body (non-loopback refusal)
  | 'invalid_json'
  | 'wrong_shape'
  | 'row_count'
  | 'huge'
  | 'late' // answers correctly after `lateMs`
  | 'markers'; // as 'ok', but each compressed text ends with a `hash=` marker while `ccr_hashes` is empty (seen on a real service)

export interface StandInCall {
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface StandIn {
  url: string;
  port: number;
  calls: StandInCall[];
  mode: StandInMode;
  token?: string;
  lateMs: number;
  /**
   * Originals the stand-in serves at `GET /v1/retrieve/:hash` and `POST /v1/retrieve` (404 for any
   * other hash): kept for the hashes it reports (the last compressed row's under the constant
   * `ccr_hashes` entry; each row's under its own marker in 'markers' mode). Tests may set or clear entries.
   */
  originals: Map<string, string>;
  /** Retrieve calls, apart from the compress `calls`. */
  retrieveCalls: StandInCall[];
  close(): Promise<void>;
}

/** The hash the stand-in reports in `ccr_hashes` (not a content hash). */
export const STANDIN_REPORTED_HASH = '0123456789abcdef01234567';

/** The stand-in's own marker hash for a text: deliberately not this package's content hash, as a real service's is not. */
export function standInHash(text: string): string {
  return createHash('sha256').update(`standin:${text}`).digest('hex').slice(0, 24);
}

/** The 'markers' mode's compression: the head, then Headroom's marker form. */
function markedCompress(text: string): { content: string; hash: string } | undefined {
  if (text.length <= 200) return undefined;
  const hash = standInHash(text);
  const items = text.split('\n').filter((l) => l.trim() !== '').length;
  return { content: `${text.slice(0, HEAD)}\n[${items} items compressed to 1. Retrieve more: hash=${hash}]`, hash };
}

const HEAD = 60;

/** The stand-in's transform: keeps a head of the text and says how long it was. Deterministic. */
export function standInCompress(text: string, salt = ''): string {
  if (text.length <= 200) return text;
  return `[standin${salt}:${text.length} chars] ${text.slice(0, HEAD)}`;
}

export function estimate(text: string): number {
  return Math.ceil(text.length / 4);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

export async function startStandIn(opts: { mode?: StandInMode; token?: string; lateMs?: number } = {}): Promise<StandIn> {
  let callNo = 0;
  const state: Omit<StandIn, 'url' | 'port' | 'close'> = {
    calls: [],
    mode: opts.mode ?? 'ok',
    token: opts.token,
    lateMs: opts.lateMs ?? 0,
    originals: new Map(),
    retrieveCalls: [],
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (req.method === 'GET' && (req.url === '/health' || req.url === '/livez' || req.url === '/readyz')) return send(200, { status: 'ok' });
      if (req.url?.startsWith('/v1/retrieve')) return retrieve(req, Buffer.concat(chunks), send);
      if (req.method !== 'POST' || req.url !== '/v1/compress') return send(404, { error: 'not found' });
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(400, { error: { type: 'invalid_request', message: 'invalid JSON' } });
      }
      state.calls.push({ headers: req.headers, body });
      const mode = state.mode;
      if (state.token && req.headers.authorization !== `Bearer ${state.token}`) return send(401, { error: 'unauthorized' });
      if (mode === 'hang') return; // never answers
      if (mode === 'reset') return req.socket.destroy();
      if (mode === 'status500') return send(500, { error: { type: 'internal', message: 'boom' } });
      if (mode === 'status503') return send(503, { error: { type: 'compression_timeout', message: 'took too long' } });
      if (mode === 'status401') return send(401, { error: 'unauthorized' });
      if (mode === 'status404') {
        res.writeHead(404, { 'content-length': 0 });
        return res.end();
      }
      if (mode === 'invalid_json') return send(200, '{"messages": [oops');
      if (mode === 'wrong_shape') return send(200, { messages: 'nope', tokens_before: 'many' });
      if (!Array.isArray(body?.messages) || typeof body?.model !== 'string') {
        return send(400, { error: { type: 'invalid_request', message: 'messages and model are required' } });
      }
      const messages: any[] = body.messages;
      callNo++;
      const bypass = String(req.headers['x-headroom-bypass'] ?? '').toLowerCase() === 'true';
      const protect = Number.isInteger(body.config?.protect_recent) ? body.config.protect_recent : 2;
      const compressUser = body.config?.compress_user_messages === true;
      const salt = mode === 'vary' ? `#${callNo}` : '';
      let before = 0;
      let after = 0;
      const out = messages.map((m, i) => {
        const text = textOf(m.content);
        before += estimate(text);
        const protectedRow = i >= messages.length - protect;
        const eligible = m.role === 'tool' || (compressUser && m.role === 'user');
        if (bypass || protectedRow || !eligible || typeof m.content !== 'string') {
          after += estimate(text);
          return m;
        }
        if (mode === 'mangle') {
          // Every way a reply could damage a row: role changed, content turned into an object, grown.
          const k = i % 3;
          if (k === 0) return { ...m, role: 'assistant', content: 'mangled' };
          if (k === 1) return { ...m, content: { evil: true } };
          return { ...m, content: m.content + m.content };
        }
        const marked = mode === 'markers' ? markedCompress(m.content) : undefined;
        if (marked) state.originals.set(marked.hash, m.content);
        else if (m.content.length > 200) state.originals.set(STANDIN_REPORTED_HASH, m.content);
        const c = marked ? marked.content : standInCompress(m.content, salt);
        after += estimate(c);
        return { ...m, content: c };
      });
      if (mode === 'row_count') out.pop();
      const reply = {
        messages: out,
        tokens_before: before,
        tokens_after: after,
        tokens_saved: before - after,
        compression_ratio: before === 0 ? 1 : after / before,
        transforms_applied: bypass ? [] : ['standin:head'],
        ccr_hashes: mode === 'markers' ? [] : [STANDIN_REPORTED_HASH, 'stable_prefix_hash:abc'],
      };
      if (mode === 'huge') return send(200, { ...reply, padding: 'x'.repeat(8 * 1024 * 1024) });
      if (mode === 'trickle') {
        const text = JSON.stringify(reply);
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const timer = setInterval(() => {
          if (i >= text.length || res.destroyed) {
            clearInterval(timer);
            return res.end();
          }
          res.write(text[i++]);
        }, 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (mode === 'late') {
        const timer = setTimeout(() => send(200, reply), state.lateMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      send(200, reply);
    });
  });
  /** Headroom's retrieve routes, in its shape; 404 `{detail}` (FastAPI's) for a hash it does not keep. */
  function retrieve(req: http.IncomingMessage, bytes: Buffer, send: (status: number, body: unknown) => void) {
    let hash: unknown;
    if (req.method === 'GET' && req.url!.startsWith('/v1/retrieve/')) hash = req.url!.slice('/v1/retrieve/'.length).split('?')[0];
    else if (req.method === 'POST' && req.url === '/v1/retrieve') {
      try {
        hash = JSON.parse(bytes.toString('utf8'))?.hash;
      } catch {
        return send(400, { detail: 'invalid JSON' });
      }
    } else return send(404, { error: 'not found' });
    state.retrieveCalls.push({ headers: req.headers, body: { hash } });
    if (state.token && req.headers.authorization !== `Bearer ${state.token}`) return send(401, { error: 'unauthorized' });
    const original = typeof hash === 'string' ? state.originals.get(hash) : undefined;
    if (original === undefined) return send(404, { detail: 'Entry not found or expired' });
    const items = original.split('\n').filter((l) => l.trim() !== '').length;
    send(200, {
      hash,
      original_content: original,
      original_tokens: estimate(original),
      original_item_count: items,
      compressed_item_count: 1,
      tool_name: null,
      retrieval_count: 1,
    });
  }

  const bound = await listenOnLoopback(server);
  const standIn = state as StandIn;
  standIn.port = bound.port;
  standIn.url = bound.url;
  standIn.close = bound.close;
  return standIn;
}
