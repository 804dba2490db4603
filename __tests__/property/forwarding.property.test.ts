/**
 * Issue 7 point 4: property tests over generated OpenAI and Anthropic requests and arbitrary service
 * replies. The forwarded body is valid JSON, its Content-Length matches its bytes, and it differs from
 * the client's only in tool-output text (never longer) and the opt-in fields. The allowed paths are
 * checked by an independent JSON diff, not by the codec under test.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { CompressRequest, CompressResponse } from '../../lib';
import { createApp, quiet } from '../kit/app';
import { postRaw } from '../kit/http';
import { startUpstream, type Upstream } from '../kit/upstream';

type ReplyPlan = (req: CompressRequest) => unknown;

let upstream: Upstream;
let server: Server;
let url: string;
let plan: ReplyPlan = () => ({});
let close: () => Promise<void>;

beforeAll(async () => {
  upstream = await startUpstream();
  const { app, headroom } = createApp({
    upstreamUrl: upstream.url,
    headroom: {
      minTokens: 0,
      logger: quiet,
      breaker: false,
      // The in-process path: the "service" answers whatever the property generated.
      compressor: (req) => plan(req) as CompressResponse,
      memo: { maxEntries: 1, maxBytes: 1 }, // effectively no memo: every run calls the planned reply
    },
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await headroom.close();
    await upstream.close();
  };
});
afterAll(async () => close());

const text = fc.string({ unit: 'grapheme', maxLength: 400 });
const bigText = fc.oneof(
  text,
  text.map((t) => t.repeat(8)),
);
const cacheControl = fc.option(fc.constant({ type: 'ephemeral' }), { nil: undefined });
const noUndefined = <T>(v: T): T => JSON.parse(JSON.stringify(v));

const openaiMessage = fc.oneof(
  fc.record({ role: fc.constant('system'), content: text }),
  fc.record({ role: fc.constant('user'), content: fc.oneof(text, fc.array(fc.record({ type: fc.constant('text'), text }), { maxLength: 3 })) }),
  fc.record({
    role: fc.constant('assistant'),
    content: fc.option(text, { nil: null }),
    tool_calls: fc.array(fc.record({ id: fc.string(), type: fc.constant('function'), function: fc.record({ name: fc.string(), arguments: fc.string() }) }), { maxLength: 2 }),
  }),
  fc.record({
    role: fc.constant('tool'),
    tool_call_id: fc.string(),
    content: fc.oneof(bigText, fc.array(fc.record({ type: fc.constant('text'), text: bigText }), { maxLength: 3 })),
  }),
);

const anthropicBlock = fc.oneof(
  fc.record({ type: fc.constant('text'), text, cache_control: cacheControl }),
  fc.record({
    type: fc.constant('tool_result'),
    tool_use_id: fc.string(),
    is_error: fc.option(fc.boolean(), { nil: undefined }),
    cache_control: cacheControl,
    content: fc.oneof(
      bigText,
      fc.array(
        fc.oneof(
          fc.record({ type: fc.constant('text'), text: bigText }),
          fc.record({ type: fc.constant('image'), source: fc.record({ type: fc.constant('base64'), data: fc.base64String() }) }),
        ),
        { maxLength: 3 },
      ),
    ),
  }),
  fc.record({ type: fc.constant('image'), source: fc.record({ type: fc.constant('base64'), media_type: fc.constant('image/png'), data: fc.base64String() }) }),
);
const anthropicMessage = fc.oneof(
  fc.record({ role: fc.constant('user'), content: fc.oneof(text, fc.array(anthropicBlock, { minLength: 1, maxLength: 3 })) }),
  fc.record({
    role: fc.constant('assistant'),
    content: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant('thinking'), thinking: text, signature: fc.base64String() }),
        fc.record({ type: fc.constant('redacted_thinking'), data: fc.base64String() }),
        fc.record({ type: fc.constant('tool_use'), id: fc.string(), name: fc.string(), input: fc.dictionary(fc.string(), fc.jsonValue()) }),
        fc.record({ type: fc.constant('text'), text }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({ role: fc.constant('system'), content: text }),
);

const extras = fc.record({
  temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
  metadata: fc.option(fc.record({ user_id: fc.string(), guardrails: fc.constant(['headroom-compression']) }), { nil: undefined }),
  stream: fc.option(fc.boolean(), { nil: undefined }),
});

/** What the "service" answers: valid compressions, garbage, wrong counts, mangled rows, throws. */
const replyPlan: fc.Arbitrary<ReplyPlan> = fc.oneof(
  fc.constant<ReplyPlan>((r) => ({
    messages: r.messages.map((m) => ({ ...m, content: typeof m.content === 'string' ? m.content.slice(0, 10) : m.content })),
    tokens_before: 10,
    tokens_after: 2,
  })),
  fc.constant<ReplyPlan>((r) => ({ messages: r.messages })),
  fc.string({ minLength: 1 }).map((extra) => ((r: CompressRequest) => ({ messages: r.messages.map((m) => ({ ...m, content: `${m.content}${extra}` })) })) as ReplyPlan),
  fc.constant<ReplyPlan>((r) => ({ messages: r.messages.slice(1) })),
  fc.constant<ReplyPlan>(() => {
    throw new Error('compressor exploded');
  }),
  fc.anything().map((junk) => ((r: CompressRequest) => ({ messages: r.messages.map(() => junk) })) as ReplyPlan),
  fc.anything().map((junk) => (() => junk) as ReplyPlan),
  fc.array(fc.oneof(fc.string(), fc.anything()), { maxLength: 4 }).map(
    (contents) =>
      ((r: CompressRequest) => ({
        messages: r.messages.map((m, i) => ({ role: i % 2 ? 'assistant' : m.role, content: contents[i % Math.max(1, contents.length)] ?? m.content })),
      })) as ReplyPlan,
  ),
);

/** Leaf paths where two JSON values differ. */
function diffPaths(a: unknown, b: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (a === b) return out;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    out.push(path);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffPaths((a as any)[k], (b as any)[k], [...path, k], out);
  return out;
}

function isToolTextPath(sent: any, p: string[]): boolean {
  if (p[0] !== 'messages') return false;
  const msg = sent.messages[Number(p[1])];
  if (!msg) return false;
  // OpenAI tool row: content, or content.N.text
  if (msg.role === 'tool') return (p.length === 3 && p[2] === 'content') || (p.length === 5 && p[2] === 'content' && p[4] === 'text');
  // Anthropic tool_result inside a user row: content.N.content, or content.N.content.M.text
  if (msg.role === 'user' && p[2] === 'content' && Array.isArray(msg.content)) {
    const block = msg.content[Number(p[3])];
    if (block?.type !== 'tool_result') return false;
    return (p.length === 5 && p[4] === 'content') || (p.length === 7 && p[4] === 'content' && p[6] === 'text');
  }
  return false;
}

function getPath(v: any, p: string[]) {
  return p.reduce((x, k) => (x == null ? undefined : x[k]), v);
}

async function check(path: string, sent: any, reply: ReplyPlan) {
  plan = reply;
  const bytes = Buffer.from(JSON.stringify(sent));
  const n = upstream.requests.length;
  const res = await postRaw(url, path, { 'content-type': 'application/json' }, bytes);
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.text}`);
  const got = upstream.requests[n];
  if (Number(got.headers['content-length']) !== got.raw.length) throw new Error('Content-Length does not match the bytes');
  const forwarded = JSON.parse(got.raw.toString('utf8'));
  const expected = JSON.parse(JSON.stringify(sent));
  delete expected.guardrails;
  delete expected.litellm_metadata;
  if (expected.metadata) {
    delete expected.metadata.guardrails;
    if (Object.keys(expected.metadata).length === 0) delete expected.metadata;
  }
  for (const p of diffPaths(expected, forwarded)) {
    if (!isToolTextPath(expected, p)) throw new Error(`changed outside tool text: ${p.join('.')}`);
    const before = getPath(expected, p);
    const after = getPath(forwarded, p);
    if (typeof before !== 'string' || typeof after !== 'string' || after.length > before.length) throw new Error(`tool text at ${p.join('.')} not a shorter string`);
  }
}

test('OpenAI requests × arbitrary replies', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(openaiMessage, { minLength: 1, maxLength: 8 }), extras, replyPlan, async (messages, ex, reply) => {
      await check('/v1/chat/completions', noUndefined({ model: 'gpt-4o', messages, ...ex, guardrails: ['headroom-compression'] }), reply);
    }),
    { numRuns: 150 },
  );
});

test('Anthropic requests × arbitrary replies', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(anthropicMessage, { minLength: 1, maxLength: 8 }), extras, replyPlan, async (messages, ex, reply) => {
      await check('/v1/messages', noUndefined({ model: 'claude-sonnet-4-5', max_tokens: 100, messages, ...ex, litellm_metadata: { guardrails: ['headroom-compression'] } }), reply);
    }),
    { numRuns: 150 },
  );
});
