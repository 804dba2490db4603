import { HeadroomConfigError, headroomCompression, parseLimit, resolveOptions } from '../../lib';

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
    try {
      resolveOptions({}, env());
    } catch (e) {
      expect((e as Error).message).toMatch(/apiBase/);
      expect((e as Error).message).toMatch(/HEADROOM_API_BASE/);
      expect((e as Error).message).toMatch(/headroomCompression\('http/);
    }
  });

  test.each(['ftp://x', 'not a url', 'localhost:8787', ''])('not an http(s) URL: %s', (bad) => {
    expect(() => resolveOptions({ apiBase: bad }, env())).toThrow(/http/);
  });

  test('a bad HEADROOM_API_BASE is named as such', () => {
    expect(() => resolveOptions({}, env({ HEADROOM_API_BASE: 'nope' }))).toThrow(/HEADROOM_API_BASE/);
  });

  test('an in-process compressor needs no apiBase', () => {
    const c = resolveOptions({ compressor: (r) => ({ messages: r.messages, tokens_before: 0, tokens_after: 0, tokens_saved: 0, compression_ratio: 1, transforms_applied: [] }) }, env());
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
      minTokens: 1000,
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
