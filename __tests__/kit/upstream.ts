/**
 * A provider stand-in on loopback: records exactly what arrived (headers and raw bytes) and answers
 * in OpenAI's or Anthropic's shape, as JSON or as an SSE stream when the body asks `stream: true`.
 */
import http from 'node:http';
import { listenOnLoopback } from './listen';

export interface UpstreamRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** Parsed JSON body, when it parses. */
  json?: any;
}

export interface Upstream {
  url: string;
  requests: UpstreamRequest[];
  /** Headers added to every response (e.g. an existing x-litellm-applied-guardrails). */
  responseHeaders: Record<string, string>;
  /** Replaces the default answer when set. */
  reply?: (req: UpstreamRequest, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

function anthropicMessage(model: string, text: string) {
  return {
    id: 'msg_standin',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5 },
  };
}

function openaiCompletion(model: string, text: string) {
  return {
    id: 'chatcmpl-standin',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

/** A Responses API answer: one assistant message. */
function responseObject(model: string, text: string, status: 'in_progress' | 'completed') {
  return {
    id: 'resp_standin',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    model,
    output:
      status === 'completed' ? [{ type: 'message', id: 'msg_standin', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
    usage: status === 'completed' ? { input_tokens: 10, output_tokens: 5, total_tokens: 15 } : null,
  };
}

/** `POST /v1/responses`: JSON, or the SSE event sequence the SDKs and the Codex CLI read. */
function responsesReply(up: Upstream, r: UpstreamRequest, res: http.ServerResponse, text: string): void {
  const model = r.json?.model ?? 'unknown';
  if (r.json?.stream !== true) {
    const body = JSON.stringify(responseObject(model, text, 'completed'));
    res.writeHead(200, { ...up.responseHeaders, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  res.writeHead(200, { ...up.responseHeaders, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let seq = 0;
  const ev = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  const done = responseObject(model, text, 'completed');
  const item = done.output[0];
  ev('response.created', { response: responseObject(model, '', 'in_progress') });
  ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
  ev('response.output_text.delta', { output_index: 0, item_id: item.id, content_index: 0, delta: text });
  ev('response.output_item.done', { output_index: 0, item });
  ev('response.completed', { response: done });
  res.end();
}

export function defaultReply(up: Upstream, r: UpstreamRequest, res: http.ServerResponse): void {
  if (r.url.startsWith('/v1/responses')) {
    return responsesReply(up, r, res, `upstream saw ${Array.isArray(r.json?.input) ? r.json.input.length : 0} items`);
  }
  const isAnthropic = r.url.startsWith('/v1/messages');
  const model = r.json?.model ?? 'unknown';
  const text = `upstream saw ${Array.isArray(r.json?.messages) ? r.json.messages.length : 0} messages`;
  const headers = { ...up.responseHeaders };
  if (r.json?.stream === true) {
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const ev = (event: string | null, data: unknown) => res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    if (isAnthropic) {
      const m = anthropicMessage(model, '');
      ev('message_start', { type: 'message_start', message: { ...m, content: [], stop_reason: null } });
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      for (const piece of text.split(' ')) ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece + ' ' } });
      ev('content_block_stop', { type: 'content_block_stop', index: 0 });
      ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
      ev('message_stop', { type: 'message_stop' });
      res.end();
    } else {
      const base = { id: 'chatcmpl-standin', object: 'chat.completion.chunk', created: 1_700_000_000, model };
      ev(null, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
      for (const piece of text.split(' ')) ev(null, { ...base, choices: [{ index: 0, delta: { content: piece + ' ' }, finish_reason: null }] });
      ev(null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      res.write('data: [DONE]\n\n');
      res.end();
    }
    return;
  }
  const body = JSON.stringify(isAnthropic ? anthropicMessage(model, text) : openaiCompletion(model, text));
  res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startUpstream(): Promise<Upstream> {
  const up: Upstream = { url: '', requests: [], responseHeaders: {}, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r: UpstreamRequest = { method: req.method!, url: req.url!, headers: req.headers, raw };
      try {
        r.json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        /* recorded raw only */
      }
      up.requests.push(r);
      if (up.reply) up.reply(r, res);
      else defaultReply(up, r, res);
    });
  });
  const bound = await listenOnLoopback(server);
  up.url = bound.url;
  up.close = bound.close;
  return up;
}
