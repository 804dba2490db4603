/**
 * Issue 12 on the middleware's side: per-output `minTokens`, the context that travels with a tool
 * output, originals kept behind every marker (and the output left uncompressed when they cannot be),
 * `headroom_retrieve` answers never compressed again, the tool list never touched, and audit mode.
 * Real servers on loopback: the stand-in service or the embedded compressor, real
 * http-proxy-middleware, a real upstream.
 */
import request from 'supertest';
import { contentHash, markerHashes, type RetrievalRecord, type RetrievalStore, type StoredRetrieval } from '../../lib/ccr';
import { compress } from '../../lib/compressor';
import type { CompressFunction } from '../../lib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { headroomRetrieval } from '../../lib';
import { quiet, startStack, type Stack } from '../kit/app';
import { clone, openaiAgent } from '../kit/fixtures';
import { STANDIN_REPORTED_HASH } from '../kit/standin';

/** Cuts a tool output of the fixture to about `chars` characters at a line or row boundary, still well-formed. */
function ticketsOf(chars: number): string {
  const full = JSON.parse(openaiAgent().body.messages[3].content) as { tickets: unknown[] };
  const rows: unknown[] = [];
  while (JSON.stringify({ tickets: rows }, null, 1).length < chars) rows.push(full.tickets[rows.length]);
  return JSON.stringify({ tickets: rows }, null, 1);
}
function grepOf(chars: number): string {
  const lines = (openaiAgent().body.messages[5].content as string).split('\n');
  const out: string[] = [];
  while (out.join('\n').length < chars) out.push(lines[out.length]);
  return out.join('\n');
}

/** The agent fixture with both tool outputs new (after the last assistant row) and about 2,000 characters each. */
function agentWithTwoNewOutputs(): any {
  const body = clone(openaiAgent().body);
  const [system, user, call1, , call2] = body.messages;
  const tools = { ...call1, tool_calls: [...call1.tool_calls, ...call2.tool_calls], content: null };
  body.messages = [system, user, tools, { role: 'tool', tool_call_id: 'call_1', content: ticketsOf(2000) }, { role: 'tool', tool_call_id: 'call_2', content: grepOf(2000) }];
  return body;
}

/** A compressor that counts its calls. */
function counting(): { fn: CompressFunction; calls: number } {
  const c: { fn: CompressFunction; calls: number } = { calls: 0, fn: (req) => (c.calls++, compress(req)) };
  return c;
}

/** An in-process store that records every put, and can be made to fail. */
class RecordingStore implements RetrievalStore {
  readonly puts: Array<{ hash: string; record: RetrievalRecord; owner: string }> = [];
  failing = false;
  async put(hash: string, record: RetrievalRecord, owner: string): Promise<void> {
    if (this.failing) throw new Error('store down');
    this.puts.push({ hash, record, owner });
  }
  async get(hash: string): Promise<StoredRetrieval | undefined> {
    const found = this.puts.filter((p) => p.hash === hash);
    return found.length === 0 ? undefined : { record: found[0].record, owners: found.map((p) => p.owner), retrievalCount: 0 };
  }
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('every new tool output worth compressing is compressed (per-output minTokens, default 500)', () => {
  test('the two ~2,000-character outputs of the OpenAI agent request are compressed with default settings, and a repeat costs no call', async () => {
    const c = counting();
    // Default minTokens: startStack's own 0 is replaced by leaving the option out.
    stack = await startStack({ headroom: { compressor: c.fn, apiBase: undefined, defaultOn: true, minTokens: undefined } });
    const body = agentWithTwoNewOutputs();
    for (const m of body.messages.slice(3)) expect(m.content.length).toBeGreaterThanOrEqual(2000);
    for (let i = 0; i < 2; i++) await request(stack.url).post('/v1/chat/completions').send(body).expect(200);
    expect(c.calls).toBe(1);
    const [first, second] = stack.results;
    expect(first).toMatchObject({ status: 'compressed', partsSent: 2, partsCompressed: 2 });
    expect(second).toMatchObject({ status: 'compressed', partsSent: 0, memoHits: 2 });
    const forwarded = stack.upstream.requests[0].json.messages;
    expect(forwarded[3].content.length).toBeLessThan(body.messages[3].content.length);
    expect(forwarded[4].content.length).toBeLessThan(body.messages[4].content.length);
    expect(stack.upstream.requests[1].raw.equals(stack.upstream.requests[0].raw)).toBe(true);
  });

  test('the threshold is per output: a small output next to a large one is not sent, and alone it is below_min_tokens', async () => {
    stack = await startStack({ headroom: { defaultOn: true, minTokens: 500 } });
    const body = agentWithTwoNewOutputs();
    body.messages[4].content = grepOf(600);
    await request(stack.url).post('/v1/chat/completions').send(body).expect(200);
    const sentTools = stack.standIn.calls[0].body.messages.filter((m: any) => m.role === 'tool');
    expect(sentTools.map((m: any) => m.content)).toEqual([body.messages[3].content]);
    body.messages[3].content = ticketsOf(600);
    await request(stack.url).post('/v1/chat/completions').send(body).expect(200);
    expect(stack.standIn.calls).toHaveLength(1);
    expect(stack.results[1]).toMatchObject({ status: 'skipped', reason: 'below_min_tokens' });
  });
});

describe('context travels with each tool output', () => {
  test('the question and the producing call go as protected rows before the tool row; only the tool row is taken back', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const body = agentWithTwoNewOutputs();
    await request(stack.url).post('/v1/chat/completions').send(body).expect(200);
    const sent = stack.standIn.calls[0].body;
    expect(sent.config.protect_recent).toBe(0);
    expect(sent.messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'tool']);
    expect(sent.messages[0].content).toBe('Why are customers seeing checkout 502s this week?');
    expect(sent.messages[1].tool_calls[0].function).toEqual({ name: 'search_tickets', arguments: '{"query": "checkout 502", "status": "any"}' });
    expect(sent.messages[2].tool_call_id).toBe(sent.messages[1].tool_calls[0].id);
    expect(sent.messages[3].tool_calls[0].function.name).toBe('grep_repo');
    // Nothing but the tool rows changed upstream: the question row is the client's own.
    const forwarded = stack.upstream.requests[0].json.messages;
    expect(forwarded.slice(0, 3)).toEqual(body.messages.slice(0, 3));
    expect(forwarded[3].content.startsWith('[standin:')).toBe(true);
  });

  test('Anthropic and Responses shapes: the call is found by tool_use_id / call_id, the question skips tool-result-only user rows', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const out = grepOf(3000);
    await request(stack.url)
      .post('/v1/messages')
      .send({
        model: 'claude-x',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: '<system-reminder>ignore me</system-reminder>' },
              { type: 'text', text: 'Where is PaymentError thrown?' },
            ],
          },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'Grep', input: { pattern: 'PaymentError' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: out }] },
        ],
      })
      .expect(200);
    expect(stack.standIn.calls[0].body.messages).toEqual([
      { role: 'user', content: 'Where is PaymentError thrown?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'headroom_0', type: 'function', function: { name: 'Grep', arguments: '{"pattern":"PaymentError"}' } }] },
      { role: 'tool', tool_call_id: 'headroom_0', content: out },
    ]);
    await request(stack.url)
      .post('/v1/responses')
      .send({
        model: 'gpt-5',
        input: [
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Show the refunded orders' }] },
          { type: 'function_call', call_id: 'fc_1', name: 'exec_command', arguments: '{"cmd":"cat orders.json"}' },
          { type: 'function_call_output', call_id: 'fc_1', output: out },
        ],
      })
      .expect(200);
    const [q, call] = stack.standIn.calls[1].body.messages;
    expect(q).toEqual({ role: 'user', content: 'Show the refunded orders' });
    expect(call.tool_calls[0].function).toEqual({ name: 'exec_command', arguments: '{"cmd":"cat orders.json"}' });
  });
});

describe('the answer of a headroom_retrieve call is never compressed again', () => {
  const original = grepOf(4000);
  test.each([
    ['headroom_retrieve', 'openai'],
    ['mcp__headroom__headroom_retrieve', 'anthropic'],
    ['headroom__headroom_retrieve', 'responses'],
  ])('%s (%s)', async (name, shape) => {
    stack = await startStack({ headroom: { defaultOn: true } });
    let path: string;
    let body: any;
    if (shape === 'openai') {
      path = '/v1/chat/completions';
      body = {
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name, arguments: '{"hash":"0123456789abcdef01234567"}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: original },
        ],
      };
    } else if (shape === 'anthropic') {
      path = '/v1/messages';
      body = {
        model: 'claude-x',
        max_tokens: 5,
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name, input: { hash: '0123456789abcdef01234567' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: original }] }] },
        ],
      };
    } else {
      path = '/v1/responses';
      body = {
        model: 'gpt-5',
        input: [
          { type: 'function_call', call_id: 'f1', name, arguments: '{}' },
          { type: 'function_call_output', call_id: 'f1', output: original },
        ],
      };
    }
    const raw = Buffer.from(JSON.stringify(body));
    await request(stack.url).post(path).set('content-type', 'application/json').send(raw.toString()).expect(200);
    expect(stack.standIn.calls).toHaveLength(0);
    expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'nothing_compressible' });
    expect(stack.upstream.requests[0].raw.equals(raw)).toBe(true);
  });
});

describe('originals behind markers', () => {
  test('the embedded compressor: every marker forwarded names an original kept under its content hash, for the request owner', async () => {
    const store = new RecordingStore();
    stack = await startStack({ headroom: { compressor: compress, apiBase: undefined, defaultOn: true, retrievalStore: store, retrievalOwner: (req) => req.get('x-owner') } });
    const output = openaiAgent().body.messages[3].content as string;
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'Which tickets are p1?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search_tickets', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: output },
      ],
    };
    await request(stack.url).post('/v1/chat/completions').set('x-owner', 'key-a').send(body).expect(200);
    const forwarded = stack.upstream.requests[0].json.messages[2].content as string;
    const hashes = markerHashes(forwarded);
    expect(hashes).toEqual([contentHash(output)]);
    expect(store.puts).toEqual([{ hash: hashes[0], owner: 'key-a', record: expect.objectContaining({ original: output, source: 'local', toolName: 'search_tickets' }) }]);
    expect(stack.results[0].ccrHashes).toEqual(hashes);
    // Another owner sending the same output is served from the memo, and becomes a reader too.
    await request(stack.url).post('/v1/chat/completions').set('x-owner', 'key-b').send(body).expect(200);
    expect(stack.results[1].memoHits).toBe(1);
    expect((await store.get(hashes[0]))!.owners).toEqual(['key-a', 'key-b']);
  });

  test('memo hits keep originals again for their owner, at most once an hour per owner and output (the store renews its time to live)', async () => {
    const store = new RecordingStore();
    stack = await startStack({ headroom: { compressor: compress, apiBase: undefined, defaultOn: true, retrievalStore: store, retrievalOwner: (req) => req.get('x-owner') } });
    const output = openaiAgent().body.messages[3].content as string;
    const messages: any[] = [
      { role: 'user', content: 'Which tickets are p1?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search_tickets', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: output },
    ];
    await request(stack.url).post('/v1/chat/completions').set('x-owner', 'key-a').send({ model: 'gpt-4o', messages }).expect(200);
    // Two later turns of the same conversation: the output is history, filled from the memo.
    for (let t = 0; t < 2; t++) {
      messages.push({ role: 'assistant', content: `turn ${t}` }, { role: 'user', content: `more ${t}` });
      await request(stack.url).post('/v1/chat/completions').set('x-owner', 'key-a').send({ model: 'gpt-4o', messages }).expect(200);
    }
    expect(store.puts.map((p) => p.owner)).toEqual(['key-a']);
    // Another owner replaying the conversation becomes a reader at once.
    await request(stack.url).post('/v1/chat/completions').set('x-owner', 'key-b').send({ model: 'gpt-4o', messages }).expect(200);
    expect(store.puts.map((p) => p.owner)).toEqual(['key-a', 'key-b']);
  });

  test('a store that cannot keep the original: the output goes on uncompressed (no marker points nowhere)', async () => {
    const store = new RecordingStore();
    store.failing = true;
    stack = await startStack({ headroom: { compressor: compress, apiBase: undefined, defaultOn: true, retrievalStore: store } });
    const output = openaiAgent().body.messages[3].content as string;
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'q' },
        { role: 'tool', tool_call_id: 'c1', content: output },
      ],
    };
    await request(stack.url).post('/v1/chat/completions').send(body).expect(200);
    expect(stack.upstream.requests[0].json.messages[1].content).toBe(output);
    expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'retrieval_store_unavailable', partsRejected: 1 });
  });

  test('a hash the tool output already printed is not a marker of this compression: nothing is kept under it', async () => {
    const store = new RecordingStore();
    stack = await startStack({ headroom: { defaultOn: true, retrievalStore: store } });
    const planted = `Retrieve more: hash=${'ab'.repeat(12)}\n${grepOf(3000)}`;
    await request(stack.url)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'c', content: planted }] })
      .expect(200);
    expect(stack.upstream.requests[0].json.messages[0].content).toContain('hash=abab');
    // Only the hash the service reported (in ccr_hashes, in no text) is kept, over the output it compressed.
    expect(store.puts.map((p) => p.hash)).toEqual([STANDIN_REPORTED_HASH]);
  });

  test('a hash the service reports only in ccr_hashes is kept too (source service, over the output it compressed), so the same surfaces serve it', async () => {
    const store = new RecordingStore();
    stack = await startStack({ headroom: { defaultOn: true, retrievalStore: store, retrievalOwner: () => 'key-a' } });
    const output = grepOf(3000);
    await request(stack.url)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'c', content: output }] })
      .expect(200);
    expect(markerHashes(stack.upstream.requests[0].json.messages[0].content)).toEqual([]);
    expect(stack.results[0].ccrHashes).toEqual([STANDIN_REPORTED_HASH]);
    expect(store.puts).toEqual([{ hash: STANDIN_REPORTED_HASH, owner: 'key-a', record: expect.objectContaining({ original: output, source: 'service' }) }]);
  });
});

describe('the tool list is never touched', () => {
  test('over a multi-turn session with markers, every forwarded request carries the client tools byte for byte', async () => {
    stack = await startStack({ headroom: { compressor: compress, apiBase: undefined, defaultOn: true } });
    const tools = clone(openaiAgent().body.tools);
    const messages: any[] = [{ role: 'user', content: 'Which tickets are p1?' }];
    const output = openaiAgent().body.messages[3].content as string;
    for (let turn = 0; turn < 4; turn++) {
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `c${turn}`, type: 'function', function: { name: 'search_tickets', arguments: `{"page":${turn}}` } }] });
      messages.push({ role: 'tool', tool_call_id: `c${turn}`, content: output.replace('T-5000', `T-500${turn}`) });
      await request(stack.url).post('/v1/chat/completions').send({ model: 'gpt-4o', tools, messages }).expect(200);
    }
    const sentTools = JSON.stringify(tools);
    for (const r of stack.upstream.requests) expect(JSON.stringify(r.json.tools)).toBe(sentTools);
    expect(stack.upstream.requests.every((r) => markerHashes(r.raw.toString()).length > 0)).toBe(true);
  });
});

describe("mode: 'audit'", () => {
  test('records what would be saved and forwards the original bytes', async () => {
    const store = new RecordingStore();
    stack = await startStack({ headroom: { compressor: compress, apiBase: undefined, defaultOn: true, mode: 'audit', retrievalStore: store } });
    const raw = JSON.stringify(agentWithTwoNewOutputs());
    const res = await request(stack.url).post('/v1/chat/completions').set('content-type', 'application/json').send(raw).expect(200);
    expect(stack.upstream.requests[0].raw.toString()).toBe(raw);
    expect(stack.results[0]).toMatchObject({ status: 'compressed', mode: 'audit', partsCompressed: 2 });
    expect(stack.results[0].tokensSaved).toBeGreaterThan(0);
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    expect(Number(res.headers['x-headroom-tokens-saved'])).toBe(stack.results[0].tokensSaved);
    expect(store.puts).toEqual([]);
  });

  test('per request, by a function; a throwing function audits', async () => {
    stack = await startStack({
      headroom: {
        compressor: compress,
        apiBase: undefined,
        defaultOn: true,
        mode: (req) => {
          if (req.get('x-mode') === 'boom') throw new Error('boom');
          return req.get('x-mode') === 'audit' ? 'audit' : 'compress';
        },
      },
    });
    const raw = JSON.stringify(agentWithTwoNewOutputs());
    for (const m of ['audit', 'compress', 'boom'])
      await request(stack.url).post('/v1/chat/completions').set('x-mode', m).set('content-type', 'application/json').send(raw).expect(200);
    expect(stack.results.map((r) => r.mode)).toEqual(['audit', 'compress', 'audit']);
    expect(stack.upstream.requests.map((r) => r.raw.toString() === raw)).toEqual([true, false, true]);
  });
});

describe('compress, then retrieve: headroomCompression and headroomRetrieval in one app, one store', () => {
  /** The README's composition: the router before the middleware, both on the middleware's own store. */
  function withRetrieval(): (app: any, headroom: any) => void {
    return (app, headroom) => {
      app.use(
        headroomRetrieval({
          store: headroom.retrievalStore,
          logger: quiet,
          authorize: (req) => (req.get('authorization') === 'Bearer admin' ? { all: true } : req.get('x-owner') ? { owner: req.get('x-owner')! } : false),
        }),
      );
    };
  }

  test('REST and MCP serve the original behind the forwarded marker, to its owner only; query returns the matching rows', async () => {
    stack = await startStack({
      headroom: { compressor: compress, apiBase: undefined, defaultOn: true, retrievalOwner: (req) => req.get('x-owner') },
      mount: withRetrieval(),
    });
    const output = openaiAgent().body.messages[3].content as string;
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'Which tickets are about Invoice PDF empty?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search_tickets', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: output },
      ],
    };
    await request(stack.url).post('/v1/chat/completions').set('x-owner', 'alice').send(body).expect(200);
    const [hash] = markerHashes(stack.upstream.requests[0].json.messages[2].content);
    expect(hash).toBe(contentHash(output));
    const got = await request(stack.url).get(`/v1/retrieve/${hash}`).set('x-owner', 'alice').expect(200);
    expect(got.body).toMatchObject({ hash, original_content: output, tool_name: 'search_tickets' });
    const refunded = JSON.parse(output).tickets.filter((t: any) => t.priority === 'p1' && t.title === 'Refund not issued');
    const q = await request(stack.url).post('/v1/retrieve').set('x-owner', 'alice').send({ hash, query: 'p1 "Refund not issued"' }).expect(200);
    expect(JSON.parse(q.body.original_content).map((t: any) => t.id)).toEqual(refunded.map((t: any) => t.id));
    expect(q.body.matched_count).toBe(refunded.length);
    const unknown = await request(stack.url)
      .get(`/v1/retrieve/${'0'.repeat(24)}`)
      .set('x-owner', 'bob')
      .expect(404);
    const other = await request(stack.url).get(`/v1/retrieve/${hash}`).set('x-owner', 'bob').expect(404);
    expect(other.text).toBe(unknown.text);
    await request(stack.url).get(`/v1/retrieve/${hash}`).set('authorization', 'Bearer admin').expect(200);

    const client = new Client({ name: 'reversible-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`), { requestInit: { headers: { 'x-owner': 'alice' } } }));
    try {
      const result: any = await client.callTool({ name: 'headroom_retrieve', arguments: { hash, query: 'T-5102' } });
      expect(result.isError).not.toBe(true);
      expect(result.content[0].text).toContain('"id":"T-5102"');
    } finally {
      await client.close();
    }
  });
});
