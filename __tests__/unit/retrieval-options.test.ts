/**
 * headroomRetrieval's options are checked when it is created, with errors that say how to fix the
 * call; and the default authorize trusts only callers that are really on this machine.
 */
import type { Request } from 'express';
import { HeadroomConfigError } from '../../lib/errors';
import { loopbackRetrievalAccess } from '../../lib/retrieval-http';
import { resolveRetrievalOptions, type HeadroomRetrievalOptions } from '../../lib/retrieval-options';
import { headroomRetrieval } from '../../lib/retrieval-router';
import { LruRetrievalStore } from '../../lib/retrieval-store';

const store = new LruRetrievalStore();
const create = (o: unknown) => () => headroomRetrieval(o as HeadroomRetrievalOptions);

describe('headroomRetrieval options', () => {
  test('defaults', () => {
    const c = resolveRetrievalOptions({ store }, loopbackRetrievalAccess);
    expect(c).toMatchObject({ store, authorize: loopbackRetrievalAccess, timeoutMs: 5000, retrievePath: '/v1/retrieve', mcpPath: '/mcp', mcp: true });
    expect(c.apiBase).toBeUndefined();
    const r = headroomRetrieval({ store, mcp: false });
    expect(r.store).toBe(store);
    expect(typeof r).toBe('function');
  });

  test('a store is required, and must be one', () => {
    expect(create(undefined)).toThrow(HeadroomConfigError);
    expect(create({})).toThrow(/option "store" must be a RetrievalStore .*middleware\.retrievalStore/);
    expect(create({ store: { get() {} } })).toThrow(/put and get/);
  });

  test('unknown options name the one meant', () => {
    expect(create({ store, retrivePath: '/r' })).toThrow(/unknown option "retrivePath" \(did you mean "retrievePath"\?\)/);
    expect(create({ store, apibase: 'http://x' })).toThrow(/did you mean "apiBase"/);
    expect(create({ store, nothingLikeIt: 1 })).toThrow(/unknown option "nothingLikeIt"$|unknown option "nothingLikeIt"\./);
  });

  test('apiBase: an http(s) service root', () => {
    expect(resolveRetrievalOptions({ store, apiBase: 'http://127.0.0.1:8787/' }, loopbackRetrievalAccess).apiBase).toBe('http://127.0.0.1:8787');
    expect(create({ store, apiBase: 'not a url' })).toThrow(/not a URL.*apiBase: 'http:\/\/127\.0\.0\.1:8787'/);
    expect(create({ store, apiBase: 'ftp://host' })).toThrow(/http:\/\/ or https:\/\//);
    expect(create({ store, apiBase: 'http://host/v1' })).toThrow(/ends in \/v1.*Pass 'http:\/\/host'/);
    expect(create({ store, apiKey: 'k' })).toThrow(/apiKey is set but apiBase is not/);
    expect(create({ store, apiBase: 'http://host', apiKey: '' })).toThrow(/apiKey" must not be empty/);
  });

  test('paths, timeout, flags and logger are checked', () => {
    expect(create({ store, retrievePath: 'v1/retrieve' })).toThrow(/retrievePath" must start with '\/'/);
    expect(create({ store, mcpPath: '/mcp/' })).toThrow(/no trailing/);
    expect(create({ store, retrievePath: '/x', mcpPath: '/x' })).toThrow(/both "\/x".*mcp: false/);
    expect(create({ store, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(create({ store, mcp: 'yes' })).toThrow(/option "mcp"/);
    expect(create({ store, authorize: true })).toThrow(/authorize" must be a function/);
    expect(create({ store, logger: console.log })).toThrow(/pino-compatible/);
  });
});

describe('the default authorize', () => {
  const req = (remoteAddress: string | undefined, headers: Record<string, string> = { host: '127.0.0.1:3000' }) => ({ socket: { remoteAddress }, headers }) as unknown as Request;

  test('loopback callers under a loopback name read everything', () => {
    for (const addr of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(loopbackRetrievalAccess(req(addr))).toEqual({ all: true });
    for (const host of ['localhost:8080', 'LOCALHOST', '[::1]:3000', '127.0.0.1']) expect(loopbackRetrievalAccess(req('127.0.0.1', { host }))).toEqual({ all: true });
  });

  test('anyone else is refused: remote, forwarded by a proxy, under another name, or no address', () => {
    expect(loopbackRetrievalAccess(req('10.0.0.5'))).toBe(false);
    expect(loopbackRetrievalAccess(req('127.0.0.2'))).toBe(false);
    expect(loopbackRetrievalAccess(req(undefined))).toBe(false);
    expect(loopbackRetrievalAccess(req('127.0.0.1', { host: '127.0.0.1', 'x-forwarded-for': '1.2.3.4' }))).toBe(false);
    expect(loopbackRetrievalAccess(req('127.0.0.1', { host: '127.0.0.1', forwarded: 'for=1.2.3.4' }))).toBe(false);
    expect(loopbackRetrievalAccess(req('127.0.0.1', { host: 'attacker.example' }))).toBe(false);
    expect(loopbackRetrievalAccess(req('127.0.0.1', { host: 'localhost.attacker.example' }))).toBe(false);
    expect(loopbackRetrievalAccess(req('127.0.0.1', {}))).toBe(false);
  });
});
