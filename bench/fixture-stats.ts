/**
 * Facts about the recorded request fixtures that the README's limits table leans on: size, how far
 * gzip shrinks them (the `MAX_INFLATE_RATIO` of 100 in lib/body.ts), nesting depth, JSON values and
 * rows as the middleware's own shape scanner counts them (`maxDepth`, `maxJsonValues`,
 * `maxMessages`), and how many values a 60 MB body of the same density would hold. Deterministic.
 *
 *   npx ts-node --transpile-only bench/fixture-stats.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { scanJsonShape } from '../lib/json-shape';

const dir = join(__dirname, '..', '__tests__', 'fixtures');
const SETS = ['claude-code-session', 'codex-session', 'openai-agent'];
const NO_LIMITS = { maxDepth: Number.MAX_SAFE_INTEGER, maxMessages: Number.MAX_SAFE_INTEGER, maxJsonValues: Number.MAX_SAFE_INTEGER };
const SIXTY_MB = 60 * 1024 * 1024;

async function main(): Promise<void> {
  console.log('| fixture | body bytes | gzip ratio | depth | JSON values | rows | values in 60 MB at this density |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const set of SETS) {
    for (const file of readdirSync(join(dir, set))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      // The body as a client sends it: the recorded object, serialised without indentation.
      const body = Buffer.from(JSON.stringify(JSON.parse(readFileSync(join(dir, set, file), 'utf8')).body));
      const shape = await scanJsonShape([body], NO_LIMITS);
      const ratio = body.length / gzipSync(body).length;
      const per60 = Math.round((shape.values * SIXTY_MB) / body.length);
      console.log(`| ${set}/${file} | ${body.length} | ${ratio.toFixed(1)}× | ${shape.depth} | ${shape.values} | ${shape.messages} | ${per60.toLocaleString('en-US')} |`);
    }
  }
}

void main();
