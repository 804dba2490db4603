/**
 * Filters given twice (`?key_alias=a&key_alias=b`) or as objects (`?key_alias[x]=a`, extended query
 * parser) used to be read as "no filter" and return every row; now they are a 400 naming the
 * parameter, on /spend/logs and on the admin UI's Logs page.
 */
import { singleQuery } from '../../examples/gateway/query';
import { MASTER_KEY, openaiToolBody, post, startGatewayStack, type GatewayStack } from './helpers';

let stack: GatewayStack;
const master = { authorization: `Bearer ${MASTER_KEY}` };

beforeAll(async () => {
  stack = await startGatewayStack();
  for (const alias of ['alpha', 'beta']) {
    const { key } = await stack.generateKey({ key_alias: alias });
    const res = await post(`${stack.url}/v1/chat/completions`, openaiToolBody(), { authorization: `Bearer ${key}` });
    await stack.spendRow(res.headers.get('x-litellm-call-id')!);
  }
});
afterAll(async () => stack.close());

const get = async (path: string) => {
  const res = await fetch(`${stack.url}${path}`, { headers: master });
  const text = await res.text();
  return { status: res.status, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
};

/** Runs `fn` with Express's extended query parser (`a[b]=1` → object), as an app might configure it. */
async function withExtendedQuery<T>(fn: () => Promise<T>): Promise<T> {
  stack.gateway.app.set('query parser', 'extended');
  try {
    return await fn();
  } finally {
    stack.gateway.app.set('query parser', 'simple');
  }
}

describe('singleQuery', () => {
  test('strings pass; arrays and objects name the parameter; others are ignored', () => {
    expect(singleQuery({ a: 'x', other: ['1', '2'] }, ['a', 'b'])).toEqual({ a: 'x' });
    expect(singleQuery({ a: ['x', 'y'] }, ['a'])).toBe('query parameter a must be given once, as a plain value');
    expect(singleQuery({ b: { x: 'y' } }, ['a', 'b'])).toContain('query parameter b ');
  });
});

describe('GET /spend/logs', () => {
  test('a single filter still filters', async () => {
    const res = await get('/spend/logs?key_alias=alpha');
    expect(res.status).toBe(200);
    expect(res.json.map((r: { key_alias: string }) => r.key_alias)).toEqual(['alpha']);
  });

  test.each([
    ['key_alias', '?key_alias=alpha&key_alias=beta'],
    ['request_id', '?request_id=a&request_id=b'],
    ['limit', '?limit=1&limit=2'],
  ])('%s given twice: 400 naming it, in the admin error shape', async (name, query) => {
    const res = await get(`/spend/logs${query}`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: { message: `query parameter ${name} must be given once, as a plain value`, type: 'invalid_request_error', param: null, code: 'invalid_request' },
    });
  });

  test('object-valued under the extended query parser: 400 too', async () => {
    await withExtendedQuery(async () => {
      for (const [name, query] of [
        ['key_alias', 'key_alias[x]=alpha'],
        ['request_id', 'request_id[0]=a'],
        ['limit', 'limit[x]=1'],
      ]) {
        const res = await get(`/spend/logs?${query}`);
        expect(res.status).toBe(400);
        expect(res.json.error.message).toContain(`query parameter ${name} `);
      }
    });
  });
});

describe('GET /ui filters', () => {
  test('a single alias filter shows that alias only', async () => {
    const res = await get('/ui?key_alias=alpha');
    expect(res.status).toBe(200);
    expect(res.text).toContain('of 1<');
  });

  test.each([
    ['key_alias', '?key_alias=alpha&key_alias=beta'],
    ['status', '?status=compressed&status=skipped'],
    ['page', '?page=1&page=2'],
    ['per', '?per=10&per=20'],
  ])('%s given twice: 400 "Bad filter" naming it', async (name, query) => {
    const res = await get(`/ui${query}`);
    expect(res.status).toBe(400);
    expect(res.text).toContain('Bad filter');
    expect(res.text).toContain(`Query parameter ${name} must be given once`);
    expect(res.text).not.toContain('data-request-id');
  });

  test('object-valued under the extended query parser: 400 too', async () => {
    await withExtendedQuery(async () => {
      const res = await get('/ui?key_alias[x]=alpha');
      expect(res.status).toBe(400);
      expect(res.text).toContain('Query parameter key_alias must be given once');
    });
  });
});
