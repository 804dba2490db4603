/**
 * Issue 3: lossless, prompt-cache-stable compression over whole sessions. Replays the shared
 * fixtures turn by turn and generated 24-turn sessions, against a stand-in that answers differently
 * on every call and one that mangles what it is given.
 */
import request from 'supertest';
import { startStack, type Stack } from '../kit/app';
import { claudeTurns, clone } from '../kit/fixtures';
import {
  CLAUDE_TURN_TOOL_PATHS,
  OPENAI_TURN_TOOL_PATHS,
  anthropicSession,
  anthropicSessionRecorded,
  diffJson,
  openaiSessionRecorded,
  openaiTurns,
  valueAt,
  withoutCacheControl,
  type JsonPath,
  type ToolOutput,
} from '../kit/session';
import type { StandInMode } from '../kit/standin';
import { contextRows, isContextRow, toolRows } from '../kit/service-rows';

let stack: Stack;
afterEach(async () => stack?.close());

const optIn = (path: string, body: any) =>
  path.startsWith('/v1/messages') ? { ...body, litellm_metadata: { guardrails: ['headroom-compression'] } } : { ...body, guardrails: ['headroom-compression'] };

async function replay(path: string, turns: any[]): Promise<any[]> {
  const forwarded: any[] = [];
  for (const body of turns) {
    const before = stack.upstream.requests.length;
    const res = await request(stack.url)
      .post(path)
      .send(optIn(path, clone(body)));
    expect(res.status).toBe(200);
    expect(stack.upstream.requests.length).toBe(before + 1);
    forwarded.push(stack.upstream.requests[before].json);
  }
  return forwarded;
}

/** Criterion 4: messages forwarded at turn k-1 are, ignoring cache_control, an exact prefix of turn k's. */
function expectPrefixStable(forwarded: any[]) {
  for (let k = 1; k < forwarded.length; k++) {
    const prev = withoutCacheControl(forwarded[k - 1].messages);
    const next = withoutCacheControl(forwarded[k].messages).slice(0, prev.length);
    expect(JSON.stringify(next)).toBe(JSON.stringify(prev));
  }
}

/**
 * Criterion 2: the forwarded body equals the client's except the text of its tool outputs (and the
 * opt-in fields, which `sent` never has). The oracle is independent of the code under test: which
 * strings are tool outputs is known from how the body was made (recorded by the session generator,
 * or read off the fixture files), and the comparison is a plain leaf-by-leaf diff. Every tool output
 * here is over 200 characters, so the stand-in (`ok` or `vary`) compresses each one: exactly these
 * strings change, each into the stand-in's form of its own original text, and nothing else changes.
 */
function expectLosslessExceptToolText(sent: any, forwarded: any, tools: ToolOutput[]) {
  for (const t of tools) expect(t.text.length).toBeGreaterThan(200); // the stand-in's threshold: each one is compressed
  const diff = diffJson(sent, forwarded);
  expect(diff.other).toEqual([]);
  const key = (p: JsonPath) => JSON.stringify(p);
  expect(diff.changedStrings.map(key).sort()).toEqual(tools.map((t) => key(t.path)).sort());
  for (const t of tools) {
    const now = valueAt(forwarded, t.path) as string;
    // `[standin:N chars] head` or, when it varies per call, `[standin#k:N chars] head` (kit/standin.ts).
    const m = /^\[standin(?:#\d+)?:(\d+) chars\] ([\s\S]*)$/.exec(now);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(t.text.length); // its own text, not another output's
    expect(m![2]).toBe(t.text.slice(0, 60));
  }
}

/** The tool outputs at `paths` in a fixture body, read from the body itself (the paths are hand-written, see kit/session.ts). */
function fixtureTools(body: any, paths: JsonPath[]): ToolOutput[] {
  return paths.map((path) => {
    const text = valueAt(body, path);
    expect(typeof text).toBe('string'); // a path that no longer fits the fixture fails here, not silently
    // Sanity of the hand-written oracle: the string is a tool_result block's content or a tool row's.
    const holder: any = valueAt(body, path.slice(0, -1));
    expect(holder?.type === 'tool_result' || holder?.role === 'tool').toBe(true);
    return { path, text: text as string };
  });
}

describe.each<[StandInMode]>([['vary'], ['ok']])('Claude Code session replayed turn by turn (stand-in %s)', (mode) => {
  test('prefix-stable, lossless, only new tool output sent, protect_recent 0', async () => {
    stack = await startStack({ mode });
    const fx = claudeTurns();
    const forwarded = await replay(
      fx[0].path,
      fx.map((f) => f.body),
    );
    expectPrefixStable(forwarded);
    fx.forEach((f, k) => expectLosslessExceptToolText(f.body, forwarded[k], fixtureTools(f.body, CLAUDE_TURN_TOOL_PATHS[k])));
    // Thinking signatures, tool ids, the system row inside messages and system blocks are untouched.
    expect(forwarded[3].messages[2]).toEqual(fx[3].body.messages[2]);
    expect(forwarded[3].messages[1]).toEqual(fx[3].body.messages[1]);
    expect(forwarded[3].system).toEqual(fx[3].body.system);
    expect(forwarded[3].tools).toEqual(fx[3].body.tools);
    // The moving cache_control breakpoint stays where the client put it.
    expect(forwarded[1].messages[3].content[0].cache_control).toEqual(fx[1].body.messages[3].content[0].cache_control);
    expect(forwarded[3].messages[3].content[0].cache_control).toBeUndefined();
    // One call per turn that had new tool output, carrying only that output.
    expect(stack.standIn.calls).toHaveLength(3);

    for (const c of stack.standIn.calls) {
      expect(toolRows(c)).toHaveLength(1);
      expect(contextRows(c).every(isContextRow)).toBe(true);
      expect(c.body.config.protect_recent).toBe(0);
      expect(c.body.model).toBe('claude-opus-4-8');
    }
    expect(toolRows(stack.standIn.calls[0])[0].content).toBe(fx[1].body.messages[3].content[0].content);
    // Compressed output actually changed the bytes the model reads.
    expect(forwarded[1].messages[3].content[0].content).toMatch(/^\[standin/);
    expect(JSON.stringify(forwarded[3]).length).toBeLessThan(JSON.stringify(fx[3].body).length * 0.7);
  });
});

test('OpenAI agent request grown turn by turn: prefix-stable and lossless', async () => {
  stack = await startStack({ mode: 'vary' });
  const turns = openaiTurns();
  const forwarded = await replay('/v1/chat/completions', turns);
  expectPrefixStable(forwarded);
  turns.forEach((t, k) => expectLosslessExceptToolText(t, forwarded[k], fixtureTools(t, OPENAI_TURN_TOOL_PATHS[k])));
  expect(stack.standIn.calls).toHaveLength(2); // the two tool rows, each on its first turn
  expect(forwarded[3].messages[5].content).toBe(forwarded[2].messages[5].content);
});

describe.each([
  ['Anthropic', '/v1/messages', () => anthropicSessionRecorded(24)],
  ['OpenAI', '/v1/chat/completions', () => openaiSessionRecorded(24)],
])('generated 24-turn %s session', (_name, path, make) => {
  test('stand-in answering differently every call: prefix-stable, one call per new output', async () => {
    stack = await startStack({ mode: 'vary' });
    const { turns, toolOutputs } = make();
    const forwarded = await replay(path, turns);
    expectPrefixStable(forwarded);
    turns.forEach((t, k) => expectLosslessExceptToolText(t, forwarded[k], toolOutputs[k]));
    expect(stack.standIn.calls).toHaveLength(turns.length - 1);
    // Each call carries exactly one tool row: the new output, never history; the rest is its context.
    expect(stack.standIn.calls.every((c) => toolRows(c).length === 1 && contextRows(c).every(isContextRow))).toBe(true);
    // ...and that row is the output the generator wrote last, turn by turn.
    expect(stack.standIn.calls.map((c) => toolRows(c)[0].content)).toEqual(toolOutputs[turns.length - 1].map((t) => t.text));
    // Later turns fill history from the memo: their results show memo hits.
    expect(stack.results[turns.length - 1].memoHits).toBe(turns.length - 2);
  });

  test('a mangling stand-in: every forwarded body equals the client body', async () => {
    stack = await startStack({ mode: 'mangle' });
    const turns = make().turns.slice(0, 8);
    const forwarded = await replay(path, turns);
    turns.forEach((t, k) => expect(forwarded[k]).toEqual(t));
    expectPrefixStable(forwarded);
  });
});

test('a request sent twice costs one service call and forwards the same bytes', async () => {
  stack = await startStack({ mode: 'vary' });
  const body = optIn('/v1/messages', claudeTurns()[1].body);
  await request(stack.url).post('/v1/messages').send(body);
  await request(stack.url).post('/v1/messages').send(body);
  expect(stack.standIn.calls).toHaveLength(1);
  expect(stack.upstream.requests[1].raw.equals(stack.upstream.requests[0].raw)).toBe(true);
  expect(stack.results[1]).toMatchObject({ status: 'compressed', memoHits: 1, partsSent: 0 });
});

test('minTokens applies to the new part only; nothing new means no call', async () => {
  stack = await startStack({ headroom: { minTokens: 1000 } });
  const fx = claudeTurns();
  // Turn 4's only new output is ~400 bytes: far under 1000 tokens, though history is ~55 KB.
  await request(stack.url).post(fx[3].path).send(optIn(fx[3].path, fx[3].body));
  expect(stack.standIn.calls).toHaveLength(0);
  expect(stack.results[0]).toMatchObject({ status: 'skipped', reason: 'below_min_tokens' });
  expect(stack.upstream.requests[0].json.messages).toEqual(fx[3].body.messages);
  // Turn 1 has no tool output at all.
  await request(stack.url).post(fx[0].path).send(optIn(fx[0].path, fx[0].body));
  expect(stack.results[1]).toMatchObject({ status: 'skipped', reason: 'nothing_compressible' });
});

test('history that was never compressed stays as sent (cache-safe), even when it is large', async () => {
  stack = await startStack();
  const fx = claudeTurns();
  // The gateway first sees this conversation at turn 4: rows 3 and 5 went to the provider uncompressed.
  await request(stack.url).post(fx[3].path).send(optIn(fx[3].path, fx[3].body));
  const got = stack.upstream.requests[0].json;
  expect(got.messages[3]).toEqual(fx[3].body.messages[3]);
  expect(got.messages[5]).toEqual(fx[3].body.messages[5]);
  expect(got.messages[7].content[0].content).toMatch(/^\[standin/);
});

test('service failure mid-session: history keeps its memo bytes, the new row goes uncompressed, prefix holds', async () => {
  stack = await startStack({ mode: 'vary', headroom: { breaker: false } });
  const turns = anthropicSession(6);
  const forwarded: any[] = [];
  for (let k = 0; k < turns.length; k++) {
    stack.standIn.mode = k === 3 ? 'status500' : 'vary';
    forwarded.push((await replay('/v1/messages', [turns[k]]))[0]);
  }
  expectPrefixStable(forwarded);
  expect(stack.results[3].status).toBe('failed');
  expect(stack.results[3].memoHits).toBe(2);
  expect(forwarded[3].messages[5].content[0].content).toBe(turns[3].messages[5].content[0].content);
});

test('compressUserMessages: older human text compressed, the live turn never', async () => {
  stack = await startStack({ headroom: { compressUserMessages: true } });
  const long = 'Please consider all of the following context carefully. '.repeat(20);
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: long },
      { role: 'user', content: long },
      { role: 'user', content: long + ' live' },
    ],
    guardrails: ['headroom-compression'],
  };
  await request(stack.url).post('/v1/chat/completions').send(body);
  const got = stack.upstream.requests[0].json;
  expect(got.messages[0].content).toBe(long);
  expect(got.messages[1].content).toMatch(/^\[standin/);
  expect(got.messages[2].content).toBe(long + ' live');
  expect(stack.standIn.calls[0].body.config.compress_user_messages).toBe(true);
});

test('charsBefore/charsAfter count memo hits too, so a memo-only turn shows what it saved', async () => {
  stack = await startStack({ headroom: { minTokens: 1000 } });
  const fx = claudeTurns();
  await request(stack.url).post(fx[1].path).send(optIn(fx[1].path, fx[1].body));
  // Turn 4 repeats turn 2's output as history and adds a small new one under the threshold.
  const body = clone(fx[3].body);
  body.messages[7].content[0].content = 'tiny';
  await request(stack.url).post(fx[3].path).send(optIn(fx[3].path, body));
  const r = stack.results[1];
  expect(r.memoHits).toBe(1);
  expect(r.tokensSaved).toBeUndefined();
  expect(r.charsBefore - r.charsAfter).toBe(fx[3].body.messages[3].content[0].content.length - stack.upstream.requests[1].json.messages[3].content[0].content.length);
  expect(r.charsBefore).toBeGreaterThan(r.charsAfter);
});
