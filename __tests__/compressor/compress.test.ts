import type { CompressFunction, CompressRequest, ContractMessage } from '../../lib/contract';
import { CompressorError, compress, validateCompressRequest } from '../../lib/compressor';
import { clearTokenCountCache } from '../../lib/compressor/tokens';
import { clearTransformCache } from '../../lib/compressor/transform';
import { generated, recorded, sharedToolOutputs } from './fixtures';

// The embedded compressor satisfies the contract's function type.
const asContractFunction: CompressFunction = compress;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function request(messages: ContractMessage[], config: CompressRequest['config'] = { protect_recent: 0 }, model = 'gpt-4o'): CompressRequest {
  return { model, messages, config };
}

function thrown(fn: () => unknown): CompressorError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CompressorError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('a Claude Code request (turn 4)', () => {
  const body = recorded('claude-code-session/turn-4.json').body;
  const sent = clone(body.messages);
  const response = compress({ model: body.model, messages: body.messages, config: { protect_recent: 0 } });

  it('returns the same number of rows in the same order, and does not modify what was sent', () => {
    expect(response.messages.map((m) => m.role)).toEqual(body.messages.map((m) => m.role));
    expect(body.messages).toEqual(sent);
  });

  it('never touches system, assistant or user text rows (thinking signatures included)', () => {
    for (const i of [0, 1, 2, 4, 6]) expect(response.messages[i]).toBe(body.messages[i]);
  });

  it('compresses the tool_result blocks and keeps their other fields (cache_control, ids)', () => {
    const before = body.messages[3].content as any[];
    const after = response.messages[3].content as any[];
    expect(after[0]).toEqual({ ...before[0], content: expect.any(String) });
    expect(after[0].content.length).toBeLessThan(before[0].content.length / 5);
    const log = response.messages[5].content as any[];
    expect(log[0].cache_control).toEqual((body.messages[5].content as any[])[0].cache_control);
    expect(log[0].content).toContain('[×253]');
    // The small `ls` output is under the threshold: the very same block.
    expect((response.messages[7].content as any[])[0]).toBe((body.messages[7].content as any[])[0]);
  });

  it('reports consistent token counts and the transforms applied', () => {
    expect(response.tokens_saved).toBe(response.tokens_before - response.tokens_after);
    expect(response.tokens_after).toBeLessThan(response.tokens_before * 0.25);
    expect(response.compression_ratio).toBeCloseTo(response.tokens_after / response.tokens_before, 4);
    expect(response.transforms_applied).toEqual([expect.stringMatching(/^json_rows:0\.\d\d$/), expect.stringMatching(/^log_collapse:0\.\d\d$/)]);
    expect(response.transforms_summary).toEqual({ json_rows: 1, log_collapse: 1 });
  });
});

describe('an OpenAI agent request', () => {
  const body = recorded('openai-agent/request.json').body;
  const response = asContractFunction({ model: body.model, messages: body.messages, config: { protect_recent: 0 } }) as ReturnType<typeof compress>;

  it('compresses the tool rows only and keeps their tool_call_id', () => {
    expect(response.messages[3]).toEqual({ ...body.messages[3], content: expect.stringContaining('"_rows":120') });
    expect(response.messages[5]).toEqual({ ...body.messages[5], content: expect.stringContaining('src/payments/charge.ts (49)') });
    for (const i of [0, 1, 2, 4, 6]) expect(response.messages[i]).toBe(body.messages[i]);
    expect(response.transforms_summary).toEqual({ json_rows: 1, grep_group: 1 });
  });
});

describe('config', () => {
  const { workerLog, ticketsJson } = sharedToolOutputs();
  const longUserText = `Please look at this log:\n${workerLog}`;
  const rows = (): ContractMessage[] => [
    { role: 'system', content: workerLog },
    { role: 'user', content: longUserText },
    { role: 'assistant', content: workerLog },
    { role: 'tool', tool_call_id: 'a', content: ticketsJson },
    { role: 'developer', content: workerLog },
    { role: 'tool', tool_call_id: 'b', content: workerLog },
  ];

  it('compresses user text only when compress_user_messages is true', () => {
    const off = compress(request(rows()));
    expect(off.messages[1].content).toBe(longUserText);
    const on = compress(request(rows(), { protect_recent: 0, compress_user_messages: true }));
    expect(on.messages[1].content).toContain('[×253]');
    for (const i of [0, 2, 4]) expect(on.messages[i].content).toBe(workerLog);
  });

  it('leaves the newest protect_recent rows alone', () => {
    const messages = rows();
    const two = compress(request(messages, { protect_recent: 2 }));
    expect(two.messages[5]).toBe(messages[5]);
    expect(two.messages[3]).not.toBe(messages[3]);
    const all = compress(request(messages, { protect_recent: 10 }));
    all.messages.forEach((m, i) => expect(m).toBe(messages[i]));
    expect(all.tokens_saved).toBe(0);
    expect(all.transforms_applied).toEqual([]);
  });

  it('defaults protect_recent to 0', () => {
    const messages = rows();
    const response = compress({ model: 'gpt-4o', messages });
    expect(response.messages[5]).not.toBe(messages[5]);
  });

  it('shows more JSON rows for a higher target_ratio', () => {
    const tight = compress(request(rows(), { protect_recent: 0 }));
    const loose = compress(request(rows(), { protect_recent: 0, target_ratio: 0.5 }));
    const shown = (r: typeof tight) => JSON.parse(r.messages[3].content as string).tickets._data.length;
    expect(shown(loose)).toBeGreaterThanOrEqual(60);
    expect(shown(loose)).toBeGreaterThan(shown(tight));
  });
});

describe('content shapes', () => {
  const { ordersJson, workerLog } = sharedToolOutputs();

  it('compresses text parts and text blocks of tool results, never images or other blocks', () => {
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
    const messages: ContractMessage[] = [
      { role: 'tool', tool_call_id: 't', content: [{ type: 'text', text: workerLog }, image] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'u', content: [{ type: 'text', text: ordersJson }, image] },
          { type: 'text', text: workerLog },
          { type: 'document', source: { type: 'text', data: workerLog } },
        ],
      },
    ];
    const response = compress(request(messages));
    const toolParts = response.messages[0].content as any[];
    expect(toolParts[0].text).toContain('[×253]');
    expect(toolParts[1]).toBe(image);
    const userParts = response.messages[1].content as any[];
    expect(userParts[0].content[0].text).toContain('"_rows":90');
    expect(userParts[0].content[1]).toBe(image);
    expect(userParts[1]).toBe((messages[1].content as any[])[1]);
    expect(userParts[2]).toBe((messages[1].content as any[])[2]);
  });

  it('passes small tool outputs through byte-identical', () => {
    const messages: ContractMessage[] = [{ role: 'tool', tool_call_id: 'x', content: '{"ok":   true}   \n' }];
    const response = compress(request(messages));
    expect(response.messages[0]).toBe(messages[0]);
    expect(response.transforms_applied).toEqual([]);
    expect(response.compression_ratio).toBe(1);
  });

  it('answers an empty message list with zeros and ratio 1', () => {
    expect(compress(request([]))).toEqual({
      messages: [],
      tokens_before: 0,
      tokens_after: 0,
      tokens_saved: 0,
      compression_ratio: 1,
      transforms_applied: [],
    });
  });
});

describe('determinism', () => {
  it('gives the same bytes for the same request, with or without its caches', () => {
    const messages = [
      { role: 'tool', content: generated('events.json') },
      { role: 'tool', content: generated('service.log') },
      { role: 'tool', content: generated('grep.txt') },
    ];
    const first = JSON.stringify(compress(request(messages, { protect_recent: 0 }, 'claude-opus-4-8')));
    const cached = JSON.stringify(compress(request(messages, { protect_recent: 0 }, 'claude-opus-4-8')));
    clearTransformCache();
    clearTokenCountCache();
    const cold = JSON.stringify(compress(request(clone(messages), { protect_recent: 0 }, 'claude-opus-4-8')));
    expect(cached).toBe(first);
    expect(cold).toBe(first);
  });
});

describe('validation and errors', () => {
  it.each([
    ['a non-object body', [], 'request body must be a JSON object'],
    ['missing messages', { model: 'gpt-4o' }, 'missing field: messages'],
    ['messages not an array', { model: 'gpt-4o', messages: {} }, 'messages must be an array'],
    ['a row without role', { model: 'gpt-4o', messages: [{ content: 'x' }] }, 'messages[0].role must be a string'],
    ['missing model', { messages: [] }, 'missing field: model'],
    ['an empty model', { model: ' ', messages: [] }, 'model must be a non-empty string'],
    ['a bad token_budget', { model: 'm', messages: [], token_budget: -1 }, 'token_budget must be a non-negative integer'],
    ['a bad config', { model: 'm', messages: [], config: [] }, 'config must be an object'],
    ['a bad protect_recent', { model: 'm', messages: [], config: { protect_recent: 1.5 } }, 'config.protect_recent must be a non-negative integer'],
    ['a bad target_ratio', { model: 'm', messages: [], config: { target_ratio: 0 } }, 'config.target_ratio must be a positive number'],
    ['a bad compress_user_messages', { model: 'm', messages: [], config: { compress_user_messages: 'yes' } }, 'config.compress_user_messages must be a boolean'],
  ])('rejects %s with 400 invalid_request', (_name, body, message) => {
    const error = thrown(() => validateCompressRequest(body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', message });
    expect(thrown(() => compress(body as CompressRequest))).toMatchObject({ status: 400, type: 'invalid_request' });
  });

  it('accepts null optional fields and unknown fields', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi', extra: 1 }], config: { target_ratio: null, protect_recent: null }, token_budget: null, other: true };
    expect(validateCompressRequest(body)).toBe(body);
  });

  it('stops with 503 compression_timeout past its time limit or when aborted', () => {
    const messages = [{ role: 'tool', content: generated('service.log') }];
    expect(thrown(() => compress(request(messages), { timeLimitMs: 0 }))).toMatchObject({ status: 503, type: 'compression_timeout' });
    const controller = new AbortController();
    controller.abort();
    expect(thrown(() => compress(request(messages), { signal: controller.signal }))).toMatchObject({ status: 503, type: 'compression_timeout' });
  });

  it('serialises errors as the service does', () => {
    expect(JSON.parse(JSON.stringify(new CompressorError(503, 'compression_error', 'boom')))).toEqual({
      error: { type: 'compression_error', message: 'boom' },
    });
  });
});
