/**
 * The figure behind `decodeChunks` in lib/body.ts (bench/README.md, "What changed in lib/"): turning
 * the 128 KB Claude Code body (the bench's `fixture` body, turn-3) into a string for JSON.parse with
 * Node's UTF-8 decoder, against the path taken for an all-ASCII body (SIMD `buffer.isAscii`, then a
 * Latin-1 copy). Both give the same string for ASCII input (checked).
 *
 *   npx ts-node --transpile-only bench/decode.ts [--runs 201]
 */
import * as bufferModule from 'node:buffer';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 201;
const isAscii = (bufferModule as { isAscii?: (b: Buffer) => boolean }).isAscii;
if (!isAscii) throw new Error(`buffer.isAscii is missing in Node ${process.version} (needs 20.18.1+ or 18.20+)`);

const fixture = JSON.parse(readFileSync(join(__dirname, '..', '__tests__', 'fixtures', 'claude-code-session', 'turn-3.json'), 'utf8'));
const body = Buffer.from(JSON.stringify(fixture.body));
const ascii = isAscii(body);
if (ascii && body.toString('latin1') !== body.toString('utf8')) throw new Error('latin1 and utf8 differ on an ASCII body');

const timeUs = (fn: () => unknown) => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e3;
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];

const utf8: number[] = [];
const latin1: number[] = [];
for (let i = 0; i < 20; i++) {
  // JIT warm-up
  body.toString('utf8');
  if (isAscii(body)) body.toString('latin1');
}
for (let i = 0; i < runs; i++) {
  utf8.push(timeUs(() => body.toString('utf8')));
  latin1.push(timeUs(() => isAscii(body) && body.toString('latin1')));
}
console.log(`body: turn-3 of __tests__/fixtures/claude-code-session, ${(body.length / 1024).toFixed(1)} KB, all ASCII: ${ascii}`);
console.log(`median of ${runs}: toString('utf8') ${median(utf8).toFixed(0)} µs; isAscii + toString('latin1') ${median(latin1).toFixed(0)} µs`);
console.log(
  `Node ${process.version}, load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ')}`,
);
