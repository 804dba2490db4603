/**
 * A local stand-in for api.anthropic.com and api.openai.com, for the demo and the tests: it records
 * exactly what arrived (headers and raw bytes) and answers in each provider's shape, as JSON or as
 * an SSE stream when the body asks `stream: true`. What it answers can be scripted per request
 * (text, a thinking block, a tool call), so a real agent (Claude Code) can run a tool loop against it.
 * Loopback only; no model behind it.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StandInRequest {
  method: string;
  url: string;
  /** `url` without its query string. */
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** Parsed JSON body, when it parses. */
  json?: any;
}

/** What the model "says". Rendered in the provider's shape, streamed or not. */
export interface Answer {
  thinking?: { text: string; signature: string };
  text?: string;
  toolUse?: { name: string; input: unknown; id?: string };
}

export interface UpstreamStandIn {
  url: string;
  requests: StandInRequest[];
  /** Decides the answer to a generation request; undefined → a short default text. Settable at any time. */
  script?: (req: StandInRequest) => Answer | undefined;
  /** Takes over the whole answer when set (after the key check): for tests of timing and failure. */
  reply?: (req: StandInRequest, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

export interface StandInOptions {
  script?: UpstreamStandIn['script'];
  /** When set, requests without this provider key get the provider's 401, as the real API would answer. */
  requireKeys?: { anthropic?: string; openai?: string };
}

/** Rough token count for `usage`: about four characters a token. */
function estimateTokens(value: unknown): number {
  return value === undefined ? 0 : Math.ceil(JSON.stringify(value).length / 4);
}

function inputTokens(json: any): number {
  return estimateTokens(json?.system) + estimateTokens(json?.messages) + estimateTokens(json?.tools);
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_standin_${(++counter).toString(36).padStart(6, '0')}`;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': nextId('req') });
  res.end(text);
}

function sse(res: http.ServerResponse): (event: string | null, data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (event, data) => res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** Splits a string into a few pieces, so streams have several deltas. */
function pieces(text: string, n = 4): string[] {
  if (text.length === 0) return [''];
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function anthropicBlocks(a: Answer): any[] {
  const blocks: any[] = [];
  if (a.thinking) blocks.push({ type: 'thinking', thinking: a.thinking.text, signature: a.thinking.signature });
  if (a.text !== undefined) blocks.push({ type: 'text', text: a.text });
  if (a.toolUse) blocks.push({ type: 'tool_use', id: a.toolUse.id ?? nextId('toolu'), name: a.toolUse.name, input: a.toolUse.input });
  return blocks;
}

function answerAnthropic(r: StandInRequest, res: http.ServerResponse, a: Answer): void {
  const model = r.json?.model ?? 'claude-standin';
  const blocks = anthropicBlocks(a);
  const stopReason = a.toolUse ? 'tool_use' : 'end_turn';
  const usage = { input_tokens: inputTokens(r.json), output_tokens: estimateTokens(blocks), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const message = { id: nextId('msg'), type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null, usage };
  if (r.json?.stream !== true) return sendJson(res, 200, message);

  const ev = sse(res);
  ev('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
  blocks.forEach((b, index) => {
    if (b.type === 'thinking') {
      ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      for (const p of pieces(b.thinking)) ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: p } });
      ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: b.signature } });
    } else if (b.type === 'text') {
      ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const p of pieces(b.text)) ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } });
    } else {
      ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
      for (const p of pieces(JSON.stringify(b.input))) ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } });
    }
    ev('content_block_stop', { type: 'content_block_stop', index });
  });
  ev('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  ev('message_stop', { type: 'message_stop' });
  res.end();
}

function answerOpenAI(r: StandInRequest, res: http.ServerResponse, a: Answer): void {
  const model = r.json?.model ?? 'gpt-standin';
  const id = nextId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const toolCall = a.toolUse ? { id: a.toolUse.id ?? nextId('call'), type: 'function', function: { name: a.toolUse.name, arguments: JSON.stringify(a.toolUse.input) } } : undefined;
  const finish = toolCall ? 'tool_calls' : 'stop';
  const prompt = inputTokens(r.json);
  const completion = estimateTokens(a);
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (r.json?.stream !== true) {
    const message = { role: 'assistant', content: a.text ?? null, refusal: null, ...(toolCall ? { tool_calls: [toolCall] } : {}) };
    return sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage });
  }
  const ev = sse(res);
  const chunk = (delta: object, finishReason: string | null = null) =>
    ev(null, { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] });
  chunk({ role: 'assistant', content: '' });
  if (a.text !== undefined) for (const p of pieces(a.text)) chunk({ content: p });
  if (toolCall) {
    chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }] });
    for (const p of pieces(toolCall.function.arguments)) chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] });
  }
  chunk({}, finish);
  if (r.json?.stream_options?.include_usage === true) ev(null, { id, object: 'chat.completion.chunk', created, model, choices: [], usage });
  ev(null, '[DONE]');
  res.end();
}

/**
 * `POST /v1/responses`, as OpenAI answers it: a Response object, or (`stream: true`) the SSE events the
 * SDKs and the Codex CLI read. Thinking becomes a `reasoning` item with `encrypted_content`; a tool use
 * a `function_call` item.
 */
function answerResponses(r: StandInRequest, res: http.ServerResponse, a: Answer): void {
  const model = r.json?.model ?? 'gpt-standin';
  const output: any[] = [];
  if (a.thinking) output.push({ type: 'reasoning', id: nextId('rs'), summary: [], encrypted_content: Buffer.from(a.thinking.signature).toString('base64') });
  if (a.text !== undefined)
    output.push({ type: 'message', id: nextId('msg'), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: a.text, annotations: [] }] });
  if (a.toolUse) {
    output.push({
      type: 'function_call',
      id: nextId('fc'),
      status: 'completed',
      call_id: a.toolUse.id ?? nextId('call'),
      name: a.toolUse.name,
      arguments: JSON.stringify(a.toolUse.input),
    });
  }
  const input = estimateTokens(r.json?.input) + estimateTokens(r.json?.instructions) + estimateTokens(r.json?.tools);
  const usage = { input_tokens: input, output_tokens: estimateTokens(a), total_tokens: input + estimateTokens(a) };
  const response = (status: string, items: any[]) => ({
    id: 'resp_standin',
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output: items,
    usage: status === 'completed' ? usage : null,
  });
  if (r.json?.stream !== true) return sendJson(res, 200, response('completed', output));
  const ev = sse(res);
  let seq = 0;
  const send = (type: string, data: object) => ev(type, { type, sequence_number: seq++, ...data });
  send('response.created', { response: response('in_progress', []) });
  output.forEach((item, i) => {
    send('response.output_item.added', { output_index: i, item: item.type === 'message' ? { ...item, status: 'in_progress', content: [] } : item });
    if (item.type === 'message') for (const p of pieces(a.text ?? '')) send('response.output_text.delta', { output_index: i, item_id: item.id, content_index: 0, delta: p });
    send('response.output_item.done', { output_index: i, item });
  });
  send('response.completed', { response: response('completed', output) });
  res.end();
}

function defaultAnswer(r: StandInRequest): Answer {
  if (Array.isArray(r.json?.input)) return { text: `stand-in upstream saw ${r.json.input.length} items` };
  const n = Array.isArray(r.json?.messages) ? r.json.messages.length : 0;
  return { text: `stand-in upstream saw ${n} messages` };
}

function isAnthropicRequest(r: StandInRequest): boolean {
  return /^\/v1\/(messages|complete)(\/|$)/.test(r.path) || (r.path.startsWith('/v1/models') && r.headers['anthropic-version'] !== undefined);
}

function errorBody(anthropic: boolean, status: number, type: string, message: string) {
  return anthropic ? { type: 'error', error: { type, message } } : { error: { message, type, param: null, code: null } };
}

export async function startUpstreamStandIn(opts: StandInOptions = {}): Promise<UpstreamStandIn> {
  const sockets = new Set<Socket>();
  const up: UpstreamStandIn = { url: '', requests: [], script: opts.script, close: async () => {} };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const r: StandInRequest = { method: req.method ?? 'GET', url, path: q === -1 ? url : url.slice(0, q), headers: req.headers, raw };
      try {
        r.json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        /* kept raw */
      }
      up.requests.push(r);
      const anthropic = isAnthropicRequest(r);

      const wanted = anthropic ? opts.requireKeys?.anthropic : opts.requireKeys?.openai;
      const presented = anthropic ? req.headers['x-api-key'] : req.headers.authorization?.replace(/^Bearer /, '');
      if (wanted !== undefined && presented !== wanted) {
        return sendJson(res, 401, errorBody(anthropic, 401, anthropic ? 'authentication_error' : 'invalid_request_error', 'invalid x-api-key'));
      }

      if (up.reply) return up.reply(r, res);
      // HEAD as GET (Node leaves the body out), as the real APIs answer it.
      if ((r.method === 'GET' || r.method === 'HEAD') && r.path.startsWith('/v1/models')) {
        const models = anthropic ? ['claude-opus-4-8', 'claude-sonnet-4-6', 'claude-haiku-4-5'] : ['gpt-4o', 'gpt-4o-mini'];
        return sendJson(
          res,
          200,
          anthropic
            ? {
                data: models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' })),
                has_more: false,
                first_id: models[0],
                last_id: models.at(-1),
              }
            : { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'standin' })) },
        );
      }
      if (r.method !== 'POST' || r.json === undefined) return sendJson(res, 404, errorBody(anthropic, 404, 'not_found_error', `stand-in has no ${r.method} ${r.path}`));
      if (r.path === '/v1/messages/count_tokens') return sendJson(res, 200, { input_tokens: inputTokens(r.json) });
      if (r.path === '/v1/messages') return answerAnthropic(r, res, up.script?.(r) ?? defaultAnswer(r));
      if (r.path === '/v1/chat/completions') return answerOpenAI(r, res, up.script?.(r) ?? defaultAnswer(r));
      if (r.path === '/v1/responses') return answerResponses(r, res, up.script?.(r) ?? defaultAnswer(r));
      return sendJson(res, 404, errorBody(anthropic, 404, 'not_found_error', `stand-in has no ${r.method} ${r.path}`));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return up;
}
