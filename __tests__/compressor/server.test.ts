/**
 * The compressor service over a real loopback socket, with real HTTP clients (fetch and undici).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { request as undiciRequest } from 'undici';
import type { CompressFunction } from '../../lib/contract';
import { CompressorError, createCompressorServer } from '../../lib/compressor';
import { contentHash } from '../../lib/ccr';
import { recorded } from './fixtures';

const servers: Server[] = [];

async function start(options: Parameters<typeof createCompressorServer>[0] = {}): Promise<string> {
  const server = createCompressorServer(options);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const agent = recorded('openai-agent/request.json').body;
const compressBody = JSON.stringify({ model: agent.model, messages: agent.messages, config: { protect_recent: 0 } });

async function post(base: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}/v1/compress`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, json: text.length > 0 ? JSON.parse(text) : undefined };
}

describe('POST /v1/compress', () => {
  let base: string;
  beforeAll(async () => {
    base = await start();
  });

  it('answers 200 with the contract shape', async () => {
    const { status, json } = await post(base, compressBody);
    expect(status).toBe(200);
    expect(json.messages).toHaveLength(agent.messages.length);
    expect(json.messages.map((m: { role: string }) => m.role)).toEqual(agent.messages.map((m) => m.role));
    expect(json.messages[6]).toEqual(agent.messages[6]);
    expect(json).toMatchObject({
      tokens_before: expect.any(Number),
      tokens_after: expect.any(Number),
      tokens_saved: expect.any(Number),
      compression_ratio: expect.any(Number),
      transforms_applied: [expect.stringMatching(/^json_rows:/), expect.stringMatching(/^grep_group:/)],
      transforms_summary: { json_rows: 1, grep_group: 1 },
    });
    expect(json.tokens_saved).toBe(json.tokens_before - json.tokens_after);
    expect(json.compression_ratio).toBeLessThan(0.2);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('accepts a %s-encoded body', async (encoding, encode) => {
    const plain = await post(base, compressBody);
    const encoded = await post(base, encode(Buffer.from(compressBody)), { 'content-encoding': encoding });
    expect(encoded.status).toBe(200);
    expect(encoded.json).toEqual(plain.json);
  });

  it('accepts a gzip body sent with undici.request', async () => {
    const { statusCode, body } = await undiciRequest(`${base}/v1/compress`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.from(compressBody)),
    });
    expect(statusCode).toBe(200);
    expect(((await body.json()) as { messages: unknown[] }).messages).toHaveLength(agent.messages.length);
  });

  it.each([
    ['bad JSON', '{"messages": [', 'request body is not valid JSON'],
    ['an empty body', '', 'request body is empty'],
    ['missing messages', JSON.stringify({ model: 'gpt-4o' }), 'missing field: messages'],
    ['missing model', JSON.stringify({ messages: [] }), 'missing field: model'],
    ['a JSON array', '[1,2]', 'request body must be a JSON object'],
  ])('answers 400 invalid_request to %s', async (_name, body, message) => {
    const { status, json } = await post(base, body);
    expect(status).toBe(400);
    expect(json).toEqual({ error: { type: 'invalid_request', message } });
  });

  it('answers 400 to a body that does not decompress, 415 to an unknown encoding', async () => {
    expect((await post(base, 'not gzip at all', { 'content-encoding': 'gzip' })).status).toBe(400);
    const unknown = await post(base, compressBody, { 'content-encoding': 'compress' });
    expect(unknown.status).toBe(415);
    expect(unknown.json.error.type).toBe('invalid_request');
  });

  it('echoes the messages on x-headroom-bypass: true (any case)', async () => {
    const { status, json } = await post(base, compressBody, { 'x-headroom-bypass': 'TRUE' });
    expect(status).toBe(200);
    expect(json.messages).toEqual(agent.messages);
    expect(json.transforms_applied).toEqual([]);
    expect(json.transforms_summary).toBeUndefined();
  });

  it('answers 405 to other methods and 404 elsewhere', async () => {
    expect((await fetch(`${base}/v1/compress`)).status).toBe(405);
    const missing = await fetch(`${base}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { type: 'not_found', message: 'not found' } });
    // An unknown hash: the retrieval routes' own 404 (in Headroom's error shape).
    expect((await fetch(`${base}/v1/retrieve/0123456789abcdef01234567`)).status).toBe(404);
  });

  it('never fails with 5xx and stays up, whatever bytes or JSON it is sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
          fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
        ),
        async (body) => {
          const response = await fetch(`${base}/v1/compress`, { method: 'POST', body });
          await response.arrayBuffer();
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: 60, seed: 20261126 },
    );
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});

describe('health', () => {
  it.each(['/health', '/livez', '/readyz'])('GET %s answers {"status":"ok"}', async (path) => {
    const base = await start();
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('limits and failures', () => {
  it('answers 413 to a body over the size limit, before or after decompression', async () => {
    const base = await start({ maxBodyBytes: 10_000 });
    expect((await post(base, 'x'.repeat(20_000))).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(1_000_000, 0x20));
    expect(bomb.length).toBeLessThan(10_000);
    const inflated = await post(base, bomb, { 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect(inflated.json.error.type).toBe('invalid_request');
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('answers 503 compression_timeout past its own time limit', async () => {
    const never: CompressFunction = () => new Promise(() => undefined);
    const base = await start({ compress: never, timeLimitMs: 50 });
    const { status, json } = await post(base, compressBody);
    expect(status).toBe(503);
    expect(json.error.type).toBe('compression_timeout');
  });

  it('answers 503 compression_error when the compressor throws, and the status of a CompressorError', async () => {
    const broken: CompressFunction = () => {
      throw new TypeError('secret message content must not leak');
    };
    const failing = await post(await start({ compress: broken }), compressBody);
    expect(failing).toEqual({ status: 503, json: { error: { type: 'compression_error', message: 'compression failed' } } });
    const refusing: CompressFunction = () => {
      throw new CompressorError(400, 'invalid_request', 'model not supported');
    };
    expect(await post(await start({ compress: refusing }), compressBody)).toEqual({
      status: 400,
      json: { error: { type: 'invalid_request', message: 'model not supported' } },
    });
  });

  it('requires the bearer token when one is set', async () => {
    const base = await start({ token: 's3cret' });
    const denied = await post(base, compressBody);
    expect(denied).toEqual({ status: 401, json: { error: 'unauthorized' } });
    expect((await post(base, compressBody, { authorization: 'Bearer s3cret' })).status).toBe(200);
  });
});

describe('retrieval: the server keeps the originals behind the markers it writes', () => {
  it('GET and POST /v1/retrieve answer in Headroom shape for every hash in ccr_hashes; with query, only matching rows', async () => {
    const base = await start();
    const { json } = await post(base, compressBody);
    expect(json.ccr_hashes.length).toBeGreaterThan(0);
    const tools = agent.messages.filter((m) => m.role === 'tool').map((m) => m.content as string);
    for (const hash of json.ccr_hashes as string[]) {
      const got = await fetch(`${base}/v1/retrieve/${hash}`);
      expect(got.status).toBe(200);
      const body = (await got.json()) as { hash: string; original_content: string };
      expect(body.hash).toBe(hash);
      expect(tools).toContain(body.original_content);
    }
    const tickets = tools.find((t) => t.startsWith('{"tickets"'))!;
    const hash = (json.ccr_hashes as string[]).find((h) => h === contentHash(tickets))!;
    const q = await fetch(`${base}/v1/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hash, query: 'T-5011' }) });
    const queried = (await q.json()) as { original_content: string; matched_count: number };
    expect(queried.matched_count).toBe(1);
    expect(JSON.parse(queried.original_content)[0].id).toBe('T-5011');
    expect((await fetch(`${base}/v1/retrieve/${'f'.repeat(24)}`)).status).toBe(404);
  });

  it('with a token, retrieval needs it too; retrievalStore: false keeps nothing', async () => {
    const base = await start({ token: 's3cret' });
    const { json } = await post(base, compressBody, { authorization: 'Bearer s3cret' });
    const hash = json.ccr_hashes[0];
    expect((await fetch(`${base}/v1/retrieve/${hash}`)).status).toBe(401);
    expect((await fetch(`${base}/v1/retrieve/${hash}`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    const bare = await start({ retrievalStore: false });
    const again = await post(bare, compressBody);
    expect((await fetch(`${bare}/v1/retrieve/${again.json.ccr_hashes[0]}`)).status).toBe(404);
  });
});
