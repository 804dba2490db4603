/**
 * Issue 13: the Responses API (`POST /v1/responses`), as the Codex CLI sends it (fixtures captured
 * from Codex CLI 0.169 in `__tests__/fixtures/codex-session`), through the real stack.
 * Only tool output in `input` items may change; `reasoning` (`encrypted_content`), messages, calls
 * and every other field arrive byte for byte; history comes from the memo, so turn k−1's forwarded
 * `input` is an exact prefix of turn k's.
 */
import fc from 'fast-check';
import OpenAI from 'openai';
import { startStack, type Stack } from '../kit/app';
import { clone, loadFixture } from '../kit/fixtures';
import { rawRequest } from '../kit/raw-request';
import { toolOutput } from '../kit/session';
import { contextRows, isContextRow, toolRows } from '../kit/service-rows';

const codexTurns = () => [1, 2, 3].map((n) => loadFixture(`codex-session/turn-${n}.json`));
const OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output']);

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function send(s: Stack, body: unknown, headers: Record<string, string> = {}) {
  const bytes = Buffer.from(JSON.stringify(body));
  const res = await rawRequest(s.url, { path: '/v1/responses', headers: { 'content-type': 'application/json', ...headers }, body: bytes });
  return { res, bytes, got: s.upstream.requests[s.upstream.requests.length - 1] };
}

/** The body with every tool output blanked: what must be identical before and after. */
function withoutOutputs(body: any): any {
  const b = clone(body);
  if (Array.isArray(b.input)) for (const item of b.input) if (OUTPUT_TYPES.has(item?.type)) item.output = '<output>';
  return b;
}

describe('Codex CLI requests (fixtures)', () => {
  test('the new function_call_output is compressed; everything else arrives unchanged', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const turn = codexTurns()[1].body;
    const { res, got } = await send(stack, turn);
    expect(res.status).toBe(200);
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    const sentOut = turn.input.find((i: any) => i.type === 'function_call_output');
    const fwdOut = got.json.input.find((i: any) => i.type === 'function_call_output');
    expect(fwdOut.output).toMatch(/^\[standin:/);
    expect(fwdOut.output.length).toBeLessThan(sentOut.output.length);
    expect(withoutOutputs(got.json)).toEqual(withoutOutputs(turn));
    // Reasoning items byte for byte, in the forwarded bytes themselves.
    for (const item of turn.input.filter((i: any) => i.type === 'reasoning')) expect(got.raw.toString()).toContain(JSON.stringify(item));
    expect(Number(got.headers['content-length'])).toBe(got.raw.length);
    // Sent to the service in the contract's OpenAI shape, one tool row per output, after its context.
    expect(toolRows(stack.standIn.calls[0])).toEqual([{ role: 'tool', tool_call_id: 'headroom_0', content: sentOut.output }]);
    expect(contextRows(stack.standIn.calls[0]).every(isContextRow)).toBe(true);
    expect(stack.results[0]).toMatchObject({ status: 'compressed', partsSent: 1, partsCompressed: 1 });
  });

  test('the three turns: each forwarded input is an exact prefix of the next; one call per new output', async () => {
    stack = await startStack({ mode: 'vary', headroom: { defaultOn: true } });
    const forwarded: string[][] = [];
    for (const t of codexTurns()) {
      const { res, got } = await send(stack, t.body);
      expect(res.status).toBe(200);
      forwarded.push(got.json.input.map((i: unknown) => JSON.stringify(i)));
      expect(withoutOutputs(got.json)).toEqual(withoutOutputs(t.body));
    }
    for (let k = 1; k < forwarded.length; k++) expect(forwarded[k].slice(0, forwarded[k - 1].length)).toEqual(forwarded[k - 1]);
    // Turn 1 has no tool output; turns 2 and 3 each send only their new output.
    expect(stack.standIn.calls.map((c) => toolRows(c).length)).toEqual([1, 1]);
  });

  test('not enabled: byte for byte; bypassed: byte for byte, no header', async () => {
    stack = await startStack();
    const turn = codexTurns()[2].body;
    const off = await send(stack, turn);
    expect(off.got.raw.equals(off.bytes)).toBe(true);
    expect(off.res.headers['x-litellm-applied-guardrails']).toBeUndefined();
    const bypassed = await send(stack, { ...turn, guardrails: ['headroom-compression'] }, { 'x-headroom-bypass': 'TRUE' });
    expect(bypassed.got.json).toEqual(turn);
    expect(bypassed.got.headers['x-headroom-bypass']).toBeUndefined();
    expect(bypassed.res.headers['x-litellm-applied-guardrails']).toBeUndefined();
    expect(stack.standIn.calls).toHaveLength(0);
  });

  test('opt-in by a top-level guardrails field, removed before forwarding', async () => {
    stack = await startStack();
    const turn = codexTurns()[1].body;
    const { got, res } = await send(stack, { ...turn, guardrails: ['headroom-compression'] });
    expect(res.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    expect(got.json.guardrails).toBeUndefined();
    expect(got.json.input.find((i: any) => i.type === 'function_call_output').output).toMatch(/^\[standin:/);
  });
});

describe('Responses request shapes', () => {
  const big = toolOutput(0);

  test('with previous_response_id every item is new, even after a function_call', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const body = {
      model: 'gpt-5',
      previous_response_id: 'resp_123',
      input: [
        { type: 'function_call', call_id: 'c0', name: 'x', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: big },
      ],
    };
    const { got } = await send(stack, body);
    expect(got.json.input[1].output).toMatch(/^\[standin:/);
    // Without it, the same output after a call is history: not sent, not changed.
    const { got: again } = await send(stack, {
      ...body,
      previous_response_id: undefined,
      input: [...body.input, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] }],
    });
    expect(again.json.input[1].output).toMatch(/^\[standin:/); // from the memo: the same bytes as before
    expect(stack.standIn.calls).toHaveLength(1);
  });

  test('output as parts: only input_text/output_text text changes; custom and local-shell outputs too', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const body: { model: string; input: any[] } = {
      model: 'gpt-5',
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: big }] },
        { type: 'custom_tool_call', call_id: 'k1', name: 'apply', input: big },
        {
          type: 'function_call_output',
          call_id: 'c1',
          output: [
            { type: 'input_text', text: big },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA' },
          ],
        },
        { type: 'custom_tool_call_output', call_id: 'k1', output: big },
        { type: 'local_shell_call_output', id: 'l1', output: big },
        { type: 'computer_call_output', call_id: 'p1', output: { type: 'computer_screenshot', image_url: 'data:image/png;base64,AAAA' } },
      ],
    };
    const { got } = await send(stack, body);
    const items = got.json.input;
    expect(items[0]).toEqual(body.input[0]);
    expect(items[1]).toEqual(body.input[1]);
    expect(items[2].output[0].text).toMatch(/^\[standin:/);
    expect(items[2].output[1]).toEqual(body.input[2].output[1]);
    expect(items[3].output).toMatch(/^\[standin:/);
    expect(items[4].output).toMatch(/^\[standin:/);
    expect(items[5]).toEqual(body.input[5]);
  });

  test('a string input is left alone', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const { got } = await send(stack, { model: 'gpt-5', input: big, instructions: big });
    expect(got.json.input).toBe(big);
    expect(stack.standIn.calls).toHaveLength(0);
  });
});

describe('the official openai SDK: client.responses.create', () => {
  const input = () => clone(codexTurns()[1].body.input);

  test('not streaming: answered, compressed, guardrail header present', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const { data, response } = await client.responses.create({ model: 'gpt-5', input: input() as any }).withResponse();
    expect(data.output_text).toBe('upstream saw 7 items');
    expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
    expect(stack.upstream.requests[0].json.input[6].output).toMatch(/^\[standin:/);
  });

  test('streaming: the events pass through untouched, the header is on the stream', async () => {
    stack = await startStack({ headroom: { defaultOn: true } });
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const { data: stream, response } = await client.responses.create({ model: 'gpt-5', input: input() as any, stream: true }).withResponse();
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(types).toEqual(['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_item.done', 'response.completed']);
    expect(text).toBe('upstream saw 7 items');
    expect(response.headers.get('x-litellm-applied-guardrails')).toBe('headroom-compression');
    expect(stack.upstream.requests[0].json.stream).toBe(true);
    expect(stack.upstream.requests[0].json.input[6].output).toMatch(/^\[standin:/);
  });
});

describe('generated Codex-like sessions with a service that answers differently on every call', () => {
  /** A Responses session: each turn repeats the last input and appends reasoning, a call and its output. */
  function session(turns: number, outputs: number[]): any[] {
    const base = {
      model: 'gpt-5',
      stream: true,
      store: false,
      include: ['reasoning.encrypted_content'],
      prompt_cache_key: 'k',
      tools: [{ type: 'function', name: 'exec_command', parameters: { type: 'object' } }],
    };
    const input: any[] = [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'dev' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'do it' }] },
    ];
    const out = [{ ...clone(base), input: clone(input) }];
    for (let t = 1; t < turns; t++) {
      input.push({ type: 'reasoning', id: `rs_${t}`, summary: [], encrypted_content: `gAAAA${'x'.repeat(40)}${t}` });
      input.push({ type: 'function_call', call_id: `call_${t}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `step ${t}` }) });
      const o = outputs[t % outputs.length];
      input.push({ type: 'function_call_output', call_id: `call_${t}`, output: o % 2 ? toolOutput(o) : [{ type: 'input_text', text: toolOutput(o) }] });
      out.push({ ...clone(base), input: clone(input) });
    }
    return out;
  }

  test('prefix stable; only outputs change; each output sent once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 7 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 }), async (turns, outputs) => {
        const s = await startStack({ mode: 'vary', headroom: { defaultOn: true } });
        try {
          let previous: string[] = [];
          for (const body of session(turns, outputs)) {
            const { got } = await send(s, body);
            const now = got.json.input.map((i: unknown) => JSON.stringify(i));
            expect(now.slice(0, previous.length)).toEqual(previous);
            expect(withoutOutputs(got.json)).toEqual(withoutOutputs(body));
            previous = now;
          }
          // Each output with its context (the call that produced it) is sent once: the same text from
          // another call has another context, so it may be compressed for that call's question.
          const sent = s.standIn.calls.flatMap((c) =>
            toolRows(c).map((m: any) => JSON.stringify([m.content, c.body.messages.find((r: any) => r.tool_calls?.[0]?.id === m.tool_call_id)?.tool_calls[0].function])),
          );
          expect(new Set(sent).size).toBe(sent.length);
        } finally {
          await s.close();
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
