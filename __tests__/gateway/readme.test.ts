/**
 * The README's curl examples, run as written with curl against a running gateway. Only the base URL
 * (http://127.0.0.1:4000) is replaced; MASTER_KEY, VIRTUAL_KEY, OTHER_KEY and LEAKED_KEY come from
 * the environment, as the README says. Every curl block must have an expectation here.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ANTHROPIC_KEY, MASTER_KEY, OPENAI_KEY, startGatewayStack, type GatewayStack } from './helpers';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const README_URL = 'http://127.0.0.1:4000';

/** ```sh blocks that start with curl, in order. */
function curlBlocks(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  return blocks.filter((b) => b.startsWith('curl '));
}

/** The Gateway section of a README (up to the next level-2 heading), if it has one. */
function gatewaySection(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const start = text.search(/^## Gateway\b/m);
  if (start === -1) return undefined;
  const rest = text.slice(start + 3);
  const end = rest.search(/^## /m);
  return end === -1 ? text.slice(start) : text.slice(start, start + 3 + end);
}

const sources = [
  ['examples/gateway/README.md', gatewaySection(join(ROOT, 'examples/gateway/README.md'))],
  ['README.md', gatewaySection(join(ROOT, 'README.md'))],
].filter((s): s is [string, string] => s[1] !== undefined);

interface CurlResult {
  status?: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits `curl -i` output into status, headers and body; plain `curl -s` output is all body. */
function parse(stdout: string): CurlResult {
  if (!stdout.startsWith('HTTP/')) return { headers: {}, body: stdout };
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(head[0].split(' ')[1]), headers, body: stdout.slice(split + 4) };
}

describe.each(sources)('curl examples in %s', (_name, section) => {
  let stack: GatewayStack;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', MASTER_KEY };
  const blocks = curlBlocks(section);

  beforeAll(async () => {
    stack = await startGatewayStack();
    env.OTHER_KEY = (await stack.generateKey({ key_alias: 'agents' })).key;
    env.LEAKED_KEY = (await stack.generateKey({ key_alias: 'leaked' })).key;
  });
  afterAll(async () => stack.close());

  async function curl(block: string): Promise<CurlResult> {
    const command = block.split(README_URL).join(stack.url);
    const { stdout } = await run('bash', ['-c', command], { env, timeout: 20_000 });
    return parse(stdout);
  }
  const lastUpstream = () => stack.upstream.requests[stack.upstream.requests.length - 1];

  test('there are examples to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  test('each example does what the README says', async () => {
    const matched: string[] = [];
    for (const block of blocks) {
      const before = stack.upstream.requests.length;
      if (block.includes('/key/generate')) {
        const r = await curl(block);
        const json = JSON.parse(r.body);
        expect(json).toMatchObject({ key_alias: 'claude-code-team', guardrails: ['headroom-compression'], models: ['claude-*'], metadata: { team: 'platform' } });
        expect(json.key).toMatch(/^sk-/);
        env.VIRTUAL_KEY = json.key; // "keep it as VIRTUAL_KEY"
      } else if (block.includes('/key/update')) {
        const json = JSON.parse((await curl(block)).body);
        expect(json).toMatchObject({ key: env.VIRTUAL_KEY, guardrails: ['headroom-compression'], key_alias: 'claude-code-team' });
      } else if (block.includes('/key/delete')) {
        const json = JSON.parse((await curl(block)).body);
        expect(json).toEqual({ deleted_keys: [env.LEAKED_KEY] });
        const after = await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${env.LEAKED_KEY}` } });
        expect(after.status).toBe(401);
      } else if (block.includes('/v1/chat/completions')) {
        const r = await curl(block);
        expect(r.status).toBe(200);
        expect(r.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
        expect(JSON.parse(r.body).choices[0].message.role).toBe('assistant');
        const got = lastUpstream();
        expect(got.path).toBe('/v1/chat/completions');
        expect(got.json.guardrails).toBeUndefined();
        expect(got.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      } else if (block.includes('/v1/messages') && block.includes('x-headroom-bypass')) {
        const r = await curl(block);
        expect(r.status).toBe(200);
        expect(r.headers['x-litellm-applied-guardrails']).toBeUndefined();
        expect(lastUpstream().headers['x-headroom-bypass']).toBeUndefined();
        expect((await stack.spendRow(r.headers['x-litellm-call-id'])).headroom_status).toBe('bypassed');
      } else if (block.includes('/v1/messages')) {
        const r = await curl(block);
        expect(r.status).toBe(200);
        expect(r.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
        expect(JSON.parse(r.body).type).toBe('message');
        const got = lastUpstream();
        expect(got.json.litellm_metadata).toBeUndefined();
        expect(got.headers['x-api-key']).toBe(ANTHROPIC_KEY);
        expect((await stack.spendRow(r.headers['x-litellm-call-id'])).headroom_reason).toBe('below_min_tokens');
      } else if (block.includes('/spend/logs')) {
        const rows = JSON.parse((await curl(block)).body);
        expect(Array.isArray(rows)).toBe(true);
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.length).toBeLessThanOrEqual(5);
      } else if (block.includes('/metrics')) {
        expect((await curl(block)).body).toContain('headroom_requests_total');
      } else if (block.includes('/health')) {
        expect(JSON.parse((await curl(block)).body).status).toBe('healthy');
      } else {
        throw new Error(`README curl example without an expectation in readme.test.ts:\n${block}`);
      }
      if (!block.includes('/v1/')) expect(stack.upstream.requests.length).toBe(before);
      matched.push(block.split('\n')[0]);
    }
    expect(matched).toHaveLength(blocks.length);
  });
});
