import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { joinChunks, readRawBody } from '../../lib/body';

function fakeRequest(chunks: string[], headers: Record<string, string> = {}): IncomingMessage {
  const s = new PassThrough() as unknown as IncomingMessage & PassThrough;
  (s as any).headers = headers;
  s.on('end', () => ((s as any).complete = true));
  let i = 0;
  const push = () => {
    if (i < chunks.length) {
      s.write(Buffer.from(chunks[i++]));
      setImmediate(push);
    } else s.end();
  };
  setImmediate(push);
  return s;
}

const needle = Buffer.from('"headroom-compression"');

describe('readRawBody', () => {
  test('keeps chunks uncopied and joins them once on demand', async () => {
    const raw = await readRawBody(fakeRequest(['{"a":', '1}']), 1000);
    expect(raw.chunks).toHaveLength(2);
    expect(joinChunks(raw).toString()).toBe('{"a":1}');
  });

  test.each([
    ['whole in one chunk', ['{"guardrails":["headroom-compression"]}']],
    ['split across two chunks', ['{"guardrails":["headroom-com', 'pression"]}']],
    ['split across many tiny chunks', '{"guardrails":["headroom-compression"]}'.split('')],
    ['at the very start of a chunk', ['{"guardrails":[', '"headroom-compression"]}']],
  ])('finds the guardrail name %s', async (_n, chunks) => {
    expect((await readRawBody(fakeRequest(chunks), 1000, needle)).needleSeen).toBe(true);
  });

  test.each([
    ['absent', ['{"guardrails":["other"]}']],
    ['without its quotes', ['{"x":"headroom-compression-v2"}']],
    ['split with a gap', ['{"x":"headroom-com', 'X', 'pression"}']],
  ])('does not find it when %s', async (_n, chunks) => {
    expect((await readRawBody(fakeRequest(chunks), 1000, needle)).needleSeen).toBe(false);
  });

  test('over limit → 413; length mismatch → 400', async () => {
    await expect(readRawBody(fakeRequest(['x'.repeat(20)]), 10)).rejects.toMatchObject({ status: 413 });
    await expect(readRawBody(fakeRequest(['x'], { 'content-length': '50' }), 10)).rejects.toMatchObject({ status: 413 });
    await expect(readRawBody(fakeRequest(['xx'], { 'content-length': '5' }), 100)).rejects.toMatchObject({ code: 'REQUEST_LENGTH_MISMATCH' });
    await expect(readRawBody(fakeRequest(['xxxxxxx'], { 'content-length': '5' }), 100)).rejects.toMatchObject({ code: 'REQUEST_LENGTH_MISMATCH' });
  });
});

test('decodeChunks: ASCII fast path and UTF-8 split across chunks decode the same text', async () => {
  const { decodeChunks } = await import('../../lib/body');
  for (const text of ['{"t":"plain ascii"}', '{"t":"naïve café ✓ 😀"}']) {
    const bytes = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.subarray(i, i + 3));
    expect(decodeChunks({ chunks, length: bytes.length, needleSeen: false })).toBe(text);
  }
});
