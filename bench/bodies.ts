/**
 * Request bodies, built from the recorded Claude Code session (read as data; nothing from
 * __tests__ is imported).
 *
 * Why turn-3 and not turn-4: only tool output after the last assistant row is ever sent to Headroom,
 * and turn-4's newest tool_result is 266 characters, under the default `minTokens` (1000), so an
 * opted-in turn-4 never calls the service and (d)/(e) would measure nothing. Turn-3 is the same
 * size (~131 KB) and its newest tool_result is 27 KB: a real compress call.
 *
 * Bodies:
 *   fixture  turn-3 as recorded (~131 KB)
 *   1mb      turn-3 with its newest tool output grown (by repeating it) until the body is ~1 MiB
 * Variants:
 *   plain    not opted in (configs a, b, c, c')
 *   optin    `"guardrails":["headroom-compression"]` added (d); identical bytes every request
 *   vary     optin plus a 12-digit counter inside the newest tool output (e), patched in place per
 *            request so every request is new tool output without rebuilding the body
 *   prime    turn-2 opted in: sent once before (d)/(e) so the history tool output is in the memo, as it
 *            would be in a session that had been compressed since turn 2
 */
import fs from 'node:fs';
import path from 'node:path';

export const BODY_NAMES = ['fixture', '1mb'] as const;
export type BodyName = (typeof BODY_NAMES)[number];
export type Variant = 'plain' | 'optin' | 'vary';

export interface BuiltBody {
  path: string;
  headers: Record<string, string>;
  bytes: Buffer;
  /** Byte offset of the counter digits (vary only). */
  counterOffset?: number;
}

export const COUNTER_WIDTH = 12;
const COUNTER_MARK = '[bench-request:';
const GUARDRAIL = 'headroom-compression';
const ONE_MIB = 1024 * 1024;
// In a built copy (build.ts) __dirname is not in the repository: the orchestrator passes BENCH_ROOT.
const FIXTURE_DIR = path.join(process.env.BENCH_ROOT ?? path.join(__dirname, '..'), '__tests__', 'fixtures', 'claude-code-session');

interface Fixture {
  path: string;
  headers: Record<string, string>;
  body: any;
}

function loadTurn(n: number): Fixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, `turn-${n}.json`), 'utf8'));
}

/** The newest tool_result block (the one the middleware sends), or throws if the fixture changed shape. */
function newestToolResult(body: any): { content: string } {
  const messages: any[] = body.messages;
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = messages[i]?.content;
    if (messages[i]?.role !== 'user' || !Array.isArray(content)) continue;
    for (let j = content.length - 1; j >= 0; j--) {
      if (content[j]?.type === 'tool_result' && typeof content[j].content === 'string') return content[j];
    }
  }
  throw new Error('bench: fixture has no string tool_result to vary');
}

/** Grows the newest tool output until the serialised body is ~`target` bytes (a few passes, bounded). */
function growTo(body: any, target: number): void {
  const block = newestToolResult(body);
  const seed = block.content + '\n';
  for (let pass = 0; pass < 4; pass++) {
    const size = Buffer.byteLength(JSON.stringify(body));
    const missing = target - size;
    if (Math.abs(missing) < 1024) return;
    if (missing > 0) {
      // JSON escaping makes a character of tool output cost a little more than one byte: aim short, then correct.
      const chars = Math.floor(missing * 0.95);
      block.content += seed.repeat(Math.ceil(chars / seed.length)).slice(0, chars);
    } else block.content = block.content.slice(0, block.content.length + missing);
  }
}

function headersOf(f: Fixture): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.headers)) if (k.toLowerCase() !== 'content-length') h[k.toLowerCase()] = String(v);
  h['content-type'] ??= 'application/json';
  return h;
}

/** Builds one body. Deterministic: the same name and variant give the same bytes. */
export function buildBody(name: BodyName | 'prime', variant: Variant): BuiltBody {
  const f = loadTurn(name === 'prime' ? 2 : 3);
  const body = f.body;
  if (name === '1mb') growTo(body, ONE_MIB);
  if (variant === 'vary') newestToolResult(body).content += `\n${COUNTER_MARK}${'0'.repeat(COUNTER_WIDTH)}]`;
  if (variant !== 'plain' || name === 'prime') body.guardrails = [GUARDRAIL];
  const bytes = Buffer.from(JSON.stringify(body));
  const out: BuiltBody = { path: f.path, headers: headersOf(f), bytes };
  if (variant === 'vary') {
    const at = bytes.indexOf(COUNTER_MARK);
    if (at < 0) throw new Error('bench: counter mark not found');
    out.counterOffset = at + COUNTER_MARK.length;
  }
  return out;
}

/** Writes `n` as zero-padded decimal into `buf` at `offset` (no allocation on the load path). */
export function writeCounter(buf: Buffer, offset: number, n: number): void {
  let v = n;
  for (let i = COUNTER_WIDTH - 1; i >= 0; i--) {
    buf[offset + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}
