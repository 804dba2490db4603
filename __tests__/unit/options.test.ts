import { HeadroomConfigError, headroomCompression } from '../../lib';
import { parseLimit, resolveOptions } from '../../lib/options';

/** The HeadroomConfigError message `fn` throws; fails the test when it throws nothing or something else. */
function configErrorOf(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(HeadroomConfigError);
  return (caught as Error).message;
}

const env = (vars: Record<string, string> = {}) => vars as NodeJS.ProcessEnv;

describe('resolveOptions', () => {
  test('string form; trailing slashes ignored', () => {
    const c = resolveOptions('http://127.0.0.1:8787///', env());
    expect(c.apiBase).toBe('http://127.0.0.1:8787');
    expect(c.compressUrl).toBe('http://127.0.0.1:8787/v1/compress');
  });

  test('a base path is kept', () => {
    expect(resolveOptions({ apiBase: 'https://h.example/headroom/' }, env()).compressUrl).toBe('https://h.example/headroom/v1/compress');
  });

  test('env fallbacks: HEADROOM_API_BASE and HEADROOM_API_KEY', () => {
    const c = resolveOptions({}, env({ HEADROOM_API_BASE: 'http://localhost:9000/', HEADROOM_API_KEY: 'k' }));
    expect(c.apiBase).toBe('http://localhost:9000');
    expect(c.apiKey).toBe('k');
  });

  test('the option wins over the environment', () => {
    const c = resolveOptions({ apiBase: 'http://a:1', apiKey: 'opt' }, env({ HEADROOM_API_BASE: 'http://b:2', HEADROOM_API_KEY: 'envk' }));
    expect(c.apiBase).toBe('http://a:1');
    expect(c.apiKey).toBe('opt');
  });

  test('neither apiBase nor HEADROOM_API_BASE: the error names both and how to fix the call', () => {
    expect(() => resolveOptions(undefined, env())).toThrow(HeadroomConfigError);
    const message = configErrorOf(() => resolveOptions({}, env()));
    expect(message).toMatch(/apiBase/);
    expect(message).toMatch(/HEADROOM_API_BASE/);
    expect(message).toMatch(/headroomCompression\('http/);
  });

  test.each(['ftp://x', 'not a url', 'localhost:8787', ''])('not an http(s) URL: %s', (bad) => {
    expect(() => resolveOptions({ apiBase: bad }, env())).toThrow(/http/);
  });

  test('a bad HEADROOM_API_BASE is named as such', () => {
    expect(() => resolveOptions({}, env({ HEADROOM_API_BASE: 'nope' }))).toThrow(/HEADROOM_API_BASE/);
  });

  test('an in-process compressor needs no apiBase', () => {
    const c = resolveOptions(
      { compressor: (r) => ({ messages: r.messages, tokens_before: 0, tokens_after: 0, tokens_saved: 0, compression_ratio: 1, transforms_applied: [] }) },
      env(),
    );
    expect(c.apiBase).toBeUndefined();
  });

  test('defaults', () => {
    const c = resolveOptions('http://h:1', env());
    expect(c).toMatchObject({
      defaultOn: false,
      guardrailName: 'headroom-compression',
      allowBypass: true,
      optInFromBody: true,
      unreachableFallback: 'fail_open',
      timeoutMs: 5000,
      minTokens: 500,
      mode: 'compress',
      limit: 64 * 1024 * 1024,
      compressUserMessages: false,
      maxInFlight: 64,
      breaker: { failureThreshold: 5, cooldownMs: 30000 },
    });
  });

  test.each([
    [{ timeoutMs: -1 }, /timeoutMs/],
    [{ timeoutMs: 'fast' }, /timeoutMs/],
    [{ unreachableFallback: 'open' }, /unreachableFallback/],
    [{ minTokens: 1.5 }, /minTokens/],
    [{ enabledFor: true }, /enabledFor.*function/],
    [{ logger: { info() {} } }, /logger.*pino/],
    [{ guardrailName: 'a b,c' }, /guardrailName/],
    [{ apiBse: 'http://x' }, /unknown option.*apiBse/],
    [{ limit: 'lots' }, /limit/],
    [{ memoStore: {} }, /memoStore.*getMany/],
    [{ mode: 'shadow' }, /mode/],
    [{ retrievalStore: { get() {} } }, /retrievalStore.*put/],
    [{ retrievalOwner: 'key' }, /retrievalOwner.*function/],
  ])('invalid %j is refused at creation with a fixing message', (opts, msg) => {
    expect(() => headroomCompression({ apiBase: 'http://h:1', ...(opts as object) })).toThrow(msg);
  });

  test('parseLimit', () => {
    expect(parseLimit('64mb')).toBe(64 * 1024 * 1024);
    expect(parseLimit('100kb')).toBe(102400);
    expect(parseLimit('1.5MB')).toBe(1572864);
    expect(parseLimit(10)).toBe(10);
  });
});

describe('option mistakes say how to fix the call (issue 16)', () => {
  test.each([
    ['api_base', 'apiBase'],
    ['api_key', 'apiKey'],
    ['default_on', 'defaultOn'],
    ['unreachable_fallback', 'unreachableFallback'],
    ['timeout', 'timeoutMs'],
  ])("LiteLLM's %s is mapped to %s", (litellm, ours) => {
    const message = configErrorOf(() => resolveOptions({ apiBase: 'http://127.0.0.1:1', [litellm]: 'x' } as never, env()));
    expect(message).toContain(`unknown option "${litellm}": that is LiteLLM's name; here it is "${ours}"`);
  });

  test.each([
    ['defaultOnn', 'defaultOn'],
    ['timeoutMS', 'timeoutMs'],
    ['apibase', 'apiBase'],
    ['minToken', 'minTokens'],
    ['maxInflight', 'maxInFlight'],
    ['unreachableFalback', 'unreachableFallback'],
  ])('a misspelling (%s) gets "did you mean %s"', (typo, meant) => {
    const message = configErrorOf(() => resolveOptions({ apiBase: 'http://127.0.0.1:1', [typo]: true } as never, env()));
    expect(message).toContain(`unknown option "${typo}" (did you mean "${meant}"?)`);
  });

  test('a name near nothing gets no guess', () => {
    const message = configErrorOf(() => resolveOptions({ apiBase: 'http://127.0.0.1:1', colour: 'blue' } as never, env()));
    expect(message).toContain('unknown option "colour"');
    expect(message).not.toContain('did you mean');
  });

  test.each(['0', '0b', '0.4', ' 0kb '])("limit '%s' is refused (every request would get 413)", (limit) => {
    expect(configErrorOf(() => resolveOptions({ apiBase: 'http://127.0.0.1:1', limit }, env()))).toMatch(/under one byte/);
  });

  test.each(['http://127.0.0.1:8787/v1', 'http://127.0.0.1:8787/v1/', 'https://h.example/headroom/V1'])(
    'an apiBase ending in /v1 (%s) is refused with the root to pass',
    (base) => {
      const message = configErrorOf(() => resolveOptions({ apiBase: base }, env()));
      expect(message).toMatch(/ends in \/v1/);
      expect(message).toMatch(/Pass the service root: 'https?:\/\/[^']+'/);
      expect(message).not.toMatch(/root: '[^']*\/v1'/i);
    },
  );

  test('HEADROOM_API_BASE ending in /v1 is refused too, and named', () => {
    expect(configErrorOf(() => resolveOptions({}, env({ HEADROOM_API_BASE: 'http://127.0.0.1:8787/v1' })))).toMatch(/HEADROOM_API_BASE .* ends in \/v1/);
  });

  test('shape limits: defaults and validation', () => {
    expect(resolveOptions('http://127.0.0.1:1', env()).shapeLimits).toEqual({ maxDepth: 64, maxMessages: 10_000, maxJsonValues: 500_000 });
    expect(configErrorOf(() => resolveOptions({ apiBase: 'http://127.0.0.1:1', maxDepth: 1 }, env()))).toMatch(/maxDepth/);
    expect(configErrorOf(() => resolveOptions({ apiBase: 'http://127.0.0.1:1', maxMessages: 0 }, env()))).toMatch(/maxMessages/);
  });
});
