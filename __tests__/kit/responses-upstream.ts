/**
 * A loopback model that speaks OpenAI's Responses API (`POST /v1/responses`), scripted per request:
 * `script(request)` returns the output items of the answer (reasoning, function calls, messages).
 *
 * Records every request (method, url, headers, raw bytes, parsed JSON) and every answer's output
 * items exactly as they were serialized onto the wire, so a test can compare what a client sent
 * back with what the model produced byte for byte.
 *
 * `stream: true` is answered with the SSE sequence the Responses API emits and the Codex CLI reads:
 *   response.created → response.in_progress → per item: response.output_item.added,
 *   (messages: response.content_part.added, response.output_text.delta…, response.output_text.done,
 *   response.content_part.done; function calls: response.function_call_arguments.delta/.done)
 *   response.output_item.done → response.completed (with the full `output` and `usage`).
 * Without `stream: true` the finished response object is answered as JSON.
 * Anything else (other paths, e.g. GET /v1/models) gets a JSON 404 in OpenAI's error shape.
 */
import http from 'node:http';
import { listenOnLoopback } from './listen';

export interface ResponsesRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** Parsed JSON body, when it parses. */
  json?: any;
}

export interface ResponsesAnswer {
  /** The request it answered (index into `requests`). */
  request: number;
  id: string;
  /** Each output item exactly as serialized in `response.output_item.done` (and in `response.completed`). */
  items: string[];
}

export interface ResponsesUpstream {
  url: string;
  requests: ResponsesRequest[];
  answers: ResponsesAnswer[];
  /** The output items for a `POST /v1/responses` request. Default: one assistant message. */
  script: (req: ResponsesRequest, index: number) => object[];
  close(): Promise<void>;
}

/** A `reasoning` output item, with the opaque `encrypted_content` a client must send back unchanged. */
export function reasoningItem(id: string, summary: string, encrypted: string) {
  return { type: 'reasoning', id, summary: [{ type: 'summary_text', text: summary }], encrypted_content: encrypted };
}

/** A `function_call` output item (`arguments` is a JSON string, as on the wire). */
export function functionCallItem(id: string, callId: string, name: string, args: object) {
  return { type: 'function_call', id, status: 'completed', call_id: callId, name, arguments: JSON.stringify(args) };
}

/** An assistant `message` output item. */
export function messageItem(id: string, text: string) {
  return { type: 'message', id, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
}

function responseObject(id: string, model: string, status: 'in_progress' | 'completed', output: unknown[]) {
  return {
    id,
    object: 'response',
    created_at: 1_700_000_000,
    status,
    model,
    output,
    usage:
      status === 'completed'
        ? { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 120 }
        : null,
  };
}

/** The "in progress" shape of an item for `response.output_item.added`. */
function addedShape(item: any): any {
  if (item.type === 'message') return { ...item, status: 'in_progress', content: [] };
  if (item.type === 'function_call') return { ...item, status: 'in_progress', arguments: '' };
  if (item.type === 'reasoning') return { ...item, summary: [] };
  return item;
}

function answer(up: ResponsesUpstream, index: number, req: ResponsesRequest, res: http.ServerResponse): void {
  const id = `resp_${String(index + 1).padStart(4, '0')}`;
  const model = typeof req.json?.model === 'string' ? req.json.model : 'unknown';
  const items = up.script(req, index);
  const serialized = items.map((i) => JSON.stringify(i));
  up.answers.push({ request: index, id, items: serialized });
  // The items are spliced in as the exact serialized strings, so what the test records is what went out.
  const output = `[${serialized.join(',')}]`;
  const completed = JSON.stringify(responseObject(id, model, 'completed', [])).replace('"output":[]', `"output":${output}`);

  if (req.json?.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completed) });
    return void res.end(completed);
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_${id}` });
  let seq = 0;
  const event = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  /** An event whose `item` is the exact serialized item string. */
  const itemEvent = (type: string, outputIndex: number, itemJson: string) =>
    res.write(`event: ${type}\ndata: {"type":${JSON.stringify(type)},"sequence_number":${seq++},"output_index":${outputIndex},"item":${itemJson}}\n\n`);

  event('response.created', { response: responseObject(id, model, 'in_progress', []) });
  event('response.in_progress', { response: responseObject(id, model, 'in_progress', []) });
  items.forEach((item: any, n) => {
    event('response.output_item.added', { output_index: n, item: addedShape(item) });
    if (item.type === 'message') {
      item.content.forEach((part: any, c: number) => {
        event('response.content_part.added', { item_id: item.id, output_index: n, content_index: c, part: { ...part, text: '' } });
        // A few deltas, as a model streams text.
        const words = String(part.text).split(/(?<= )/);
        for (const delta of words) event('response.output_text.delta', { item_id: item.id, output_index: n, content_index: c, delta, logprobs: [] });
        event('response.output_text.done', { item_id: item.id, output_index: n, content_index: c, text: part.text, logprobs: [] });
        event('response.content_part.done', { item_id: item.id, output_index: n, content_index: c, part });
      });
    } else if (item.type === 'function_call') {
      event('response.function_call_arguments.delta', { item_id: item.id, output_index: n, delta: item.arguments });
      event('response.function_call_arguments.done', { item_id: item.id, output_index: n, arguments: item.arguments });
    }
    itemEvent('response.output_item.done', n, serialized[n]);
  });
  res.write(`event: response.completed\ndata: {"type":"response.completed","sequence_number":${seq++},"response":${completed}}\n\n`);
  res.end();
}

export async function startResponsesUpstream(): Promise<ResponsesUpstream> {
  const up: ResponsesUpstream = {
    url: '',
    requests: [],
    answers: [],
    script: () => [messageItem('msg_default', 'ok')],
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r: ResponsesRequest = { method: req.method!, url: req.url!, headers: req.headers, raw };
      try {
        r.json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        /* recorded raw only */
      }
      const index = up.requests.push(r) - 1;
      const path = r.url.split('?')[0];
      if (r.method === 'POST' && path === '/v1/responses' && r.json) {
        try {
          return answer(up, index, r, res);
        } catch (err) {
          const body = JSON.stringify({ error: { message: `script failed: ${(err as Error).message}`, type: 'server_error' } });
          res.writeHead(500, { 'content-type': 'application/json' });
          return void res.end(body);
        }
      }
      const body = JSON.stringify({ error: { message: `not served here: ${r.method} ${path}`, type: 'invalid_request_error', code: 'not_found' } });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const bound = await listenOnLoopback(server);
  up.url = bound.url;
  up.close = bound.close;
  return up;
}
