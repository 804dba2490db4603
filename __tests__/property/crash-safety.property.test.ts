/**
 * Issue "no single request takes the process down": arbitrary JSON-ish bodies — fc.jsonValue(),
 * messages arrays of any shape, deep nesting (1k–100k levels, at the top, inside a message, inside
 * `tools`), wide bodies, raw invalid UTF-8 and lone surrogates, `__proto__` keys, truncated JSON,
 * gzip bombs — go through every chain, served by a child process (crash-child.ts) whose survival is
 * asserted. Chains: headroomCompression → proxy; express.json → headroomCompression → proxy; the same
 * with fixRequestBody; each on Express 5 and 4, opted in per body or by `defaultOn`, bypassed or not.
 *
 * Per request: a response arrives within the client timeout (no hang), it is not a 5xx nor a socket
 * error, and a 4xx body is the provider's error JSON (Anthropic's shape on /v1/messages, OpenAI's
 * elsewhere) — except a 4xx that the app's own express.json() raised (tagged by the child), which is
 * the app's parser speaking, not the middleware. A 2xx must come from the upstream.
 * After the run: the child never died (a death is recorded and the child restarted so later cases
 * still run), it answers GET /health on every app, Object.prototype is untouched, and its stderr has no
 * `Uncaught` / `unhandledRejection` line (the child writes one and exits on either).
 *
 * Failures carry the request (chain, Express major, mode, path, opt-in, bypass, gzip), what came back,
 * and the tail of the child's stderr (where the crash's stack is). Generated bodies print as a short
 * description, not their bytes. Seed: FC_SEED=<n> to replay a run.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { contentHash } from '../../lib/ccr';
import { MAX_QUERY_LENGTH, MAX_QUERY_TERMS, queryTerms } from '../../lib/retrieval-query';
import { CHAINS, MAJORS, SEEDED_ORIGINAL, type Chain, type Mode } from './crash-targets';

// ---------------------------------------------------------------------------------------------
// The child

const ROOT = path.resolve(__dirname, '..', '..');
const CHILD = path.join(__dirname, 'crash-child.ts');
const CHAT = '/v1/chat/completions';
const MESSAGES = '/v1/messages';
const RESPONSES = '/v1/responses';
type ApiPath = typeof CHAT | typeof MESSAGES | typeof RESPONSES;

interface ChildInfo {
  pid: number;
  upstream: number;
  apps: Record<string, number>;
}

interface Death {
  /** The request being served (or last served) when the child exited. */
  during: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

class CrashChild {
  proc?: ChildProcessWithoutNullStreams;
  info?: ChildInfo;
  /** stderr of every incarnation, in order (the survival check reads all of it). */
  stderrAll = '';
  /** stderr of the current incarnation. */
  stderr = '';
  deaths: Death[] = [];
  restarts = 0;
  /** What the child is serving, for attributing a death. */
  current = 'start-up';
  private exited?: Promise<void>;

  get alive(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', NODE_ENV: 'test' },
    });
    this.proc = proc;
    this.stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => {
      this.stderr += d;
      this.stderrAll += d;
      // Bounded: a long run of logged errors must not grow without end.
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
      if (this.stderrAll.length > 2_000_000) this.stderrAll = this.stderrAll.slice(-1_000_000);
    });
    this.exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    this.info = await new Promise<ChildInfo>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`crash-child did not start within 30 s; stderr: ${this.stderr.slice(-2000)}`)), 30_000);
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl === -1) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch (err) {
          reject(new Error(`crash-child printed no ready line: ${out.slice(0, 500)}`));
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`crash-child exited during start-up (code ${code}, signal ${signal}); stderr: ${this.stderr.slice(-2000)}`));
      });
    });
    this.current = 'idle';
  }

  /** Waits up to `ms` for the child to exit (a crash on a request is often a tick after the socket closed). */
  async settle(ms: number): Promise<boolean> {
    if (!this.alive) return false;
    await raceTimer(this.exited!, ms);
    return this.alive;
  }

  /** If the child is dead: records the death (once) and starts a fresh one. Returns the death, if any. */
  async revive(): Promise<Death | undefined> {
    if (this.alive) return undefined;
    const proc = this.proc!;
    const death: Death = { during: this.current, code: proc.exitCode, signal: proc.signalCode, stderrTail: crashExcerpt(this.stderr) };
    this.deaths.push(death);
    this.restarts++;
    await this.start();
    return death;
  }

  async stop(): Promise<void> {
    if (!this.proc || !this.alive) return;
    this.proc.stdin.end();
    this.proc.kill('SIGTERM');
    await raceTimer(this.exited!, 5000);
    if (this.alive) this.proc.kill('SIGKILL');
  }

  port(chain: Chain, major: number, mode: Mode): number {
    return this.info!.apps[`${chain}/e${major}/${mode}`];
  }
}

/** Waits for `p` or `ms`, whichever is first, leaving no timer behind (jest would wait for it). */
async function raceTimer(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function tail(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(-n)}`;
}

/** The crash report in the child's stderr (from its last CRASH-CHILD line), else the last lines. */
function crashExcerpt(stderr: string): string {
  const at = stderr.lastIndexOf('CRASH-CHILD');
  return at === -1 ? tail(stderr, 800) : stderr.slice(at, at + 1500).trimEnd();
}

/** A response body for a failure message: Express's HTML error page shortened to its first line. */
function snippetOf(text: string): string {
  const pre = /<pre>([\s\S]*?)(<br>|<\/pre>)/.exec(text);
  const s = pre
    ? `[html] ${pre[1]
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&nbsp;/g, ' ')}`
    : text;
  return JSON.stringify(s.slice(0, 300));
}

// ---------------------------------------------------------------------------------------------
// Requests

type Outcome =
  { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; text: string } | { kind: 'timeout'; ms: number } | { kind: 'socket'; code: string; message: string };

/** POSTs exact bytes on a fresh connection; resolves (never rejects) with what happened. */
function post(port: number, urlPath: string, headers: Record<string, string>, bytes: Buffer, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent: false, headers: { 'content-length': String(bytes.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        // Keep the head only: bodies of interest are small error JSON.
        if (size < 64 * 1024) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => finish({ kind: 'response', status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'socket', code: err.code ?? 'ERR', message: err.message }));
    });
    const timer = setTimeout(() => {
      finish({ kind: 'timeout', ms: timeoutMs });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'socket', code: err.code ?? 'ERR', message: err.message }));
    req.end(bytes);
  });
}

/** Generous for a 2-core machine running another suite beside this one; still well under the jest timeouts. */
function timeoutFor(bytes: number): number {
  return 5000 + Math.ceil(bytes / (1024 * 1024)) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Bodies: built as JSON text pieces, so they can hold what JSON.stringify cannot write (nesting
// deeper than its stack, raw invalid UTF-8).

type OptIn = 'none' | 'guardrails' | 'litellm_metadata' | 'metadata';

interface Variant {
  path: ApiPath;
  /** App mode: opt-in per body (`optin`) or `defaultOn: true` (`on`). */
  mode: Mode;
  /** Where the body opts in (object bodies only). */
  optIn: OptIn;
  bypass: boolean;
  gzip: boolean;
}

type Spec =
  /** An object body: `"key":<value text>` pieces; the variant's opt-in field goes first. */
  | { kind: 'object'; fields: Array<[string, string]>; truncate?: number }
  /** Any other body text, sent as is. */
  | { kind: 'raw'; text: string; truncate?: number };

/** Raw byte sequences spliced into string literals: not valid UTF-8, or not valid inside JSON. */
const RAW_SEQUENCES: ReadonlyArray<{ name: string; bytes: number[] }> = [
  { name: 'lone high surrogate (CESU-8)', bytes: [0xed, 0xa0, 0x80] },
  { name: 'lone low surrogate (CESU-8)', bytes: [0xed, 0xbf, 0xbf] },
  { name: '0xFF', bytes: [0xff] },
  { name: 'overlong /', bytes: [0xc0, 0xaf] },
  { name: 'stray continuation', bytes: [0x80] },
  { name: 'truncated 3-byte', bytes: [0xe2, 0x82] },
  { name: 'above U+10FFFF', bytes: [0xf4, 0x90, 0x80, 0x80] },
  { name: 'raw NUL', bytes: [0x00] },
  { name: 'raw newline', bytes: [0x0a] },
];
const RAW_TOKEN = /~~RAW(\d)~~/g;
const rawToken = (i: number) => `~~RAW${i}~~`;

/** Text → bytes, each raw-sequence token replaced by its bytes. */
function toBytes(text: string): Buffer {
  if (!text.includes('~~RAW')) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(RAW_TOKEN)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from(RAW_SEQUENCES[Number(m[1])].bytes));
    last = m.index! + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

const GUARDRAIL = '["headroom-compression"]';
const OPT_IN_FIELD: Record<Exclude<OptIn, 'none'>, [string, string]> = {
  guardrails: ['guardrails', GUARDRAIL],
  litellm_metadata: ['litellm_metadata', `{"guardrails":${GUARDRAIL}}`],
  metadata: ['metadata', `{"guardrails":${GUARDRAIL}}`],
};

function objText(fields: Array<[string, string]>): string {
  let s = '{';
  for (let i = 0; i < fields.length; i++) s += `${i ? ',' : ''}${JSON.stringify(fields[i][0])}:${fields[i][1]}`;
  return `${s}}`;
}

function arrText(items: string[]): string {
  return `[${items.join(',')}]`;
}

/** The exact bytes sent for `spec` under `variant` (opt-in added, raw bytes spliced, truncated, gzipped). */
function render(spec: Spec, v: Variant): Buffer {
  let text: string;
  if (spec.kind === 'object') text = objText(v.optIn === 'none' ? spec.fields : [OPT_IN_FIELD[v.optIn], ...spec.fields]);
  else text = spec.text;
  let bytes = toBytes(text);
  if (spec.truncate !== undefined) bytes = bytes.subarray(0, Math.floor(bytes.length * spec.truncate));
  return v.gzip ? zlib.gzipSync(bytes, { level: 1 }) : bytes;
}

/** `depth` levels of arrays, objects, or both alternating, around `leaf`. Built as text: no recursion. */
function deepText(depth: number, kind: 'array' | 'object' | 'mixed', leaf = ''): string {
  if (kind === 'array') return `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
  if (kind === 'object') return `${'{"a":'.repeat(depth)}${leaf || '1'}${'}'.repeat(depth)}`;
  const pairs = Math.ceil(depth / 2);
  return `${'[{"a":'.repeat(pairs)}${leaf || '1'}${'}]'.repeat(pairs)}`;
}

/** A generated (or fixed) body plus a short description: failures print this, never megabytes. */
class Case {
  constructor(
    readonly label: string,
    readonly spec: Spec,
  ) {}
  describe(): string {
    const size = this.spec.kind === 'object' ? this.spec.fields.reduce((n, [k, t]) => n + k.length + t.length + 4, 2) : this.spec.text.length;
    const head = this.spec.kind === 'object' ? objText(this.spec.fields) : this.spec.text;
    const trunc = this.spec.truncate !== undefined ? `, truncated at ${(this.spec.truncate * 100).toFixed(1)}%` : '';
    return `${this.label} (~${size} chars${trunc}): ${head.length > 300 ? `${head.slice(0, 300)}…` : head}`;
  }
  [fc.toStringMethod](): string {
    return `Case<${this.describe()}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// Checking one request

interface Failure {
  target: string;
  what: string;
}

const BODY_PARSER_TAG = /^(entity|encoding|charset|request|stream)\./;

function isProviderError(p: ApiPath, json: any): boolean {
  if (p === MESSAGES) return json?.type === 'error' && typeof json.error?.type === 'string' && typeof json.error?.message === 'string';
  return typeof json?.error?.message === 'string' && typeof json.error?.type === 'string';
}

/** What is wrong with `o`, or undefined. */
function judge(o: Outcome, chain: Chain, v: Variant): string | undefined {
  if (o.kind === 'timeout') return `no response within ${o.ms} ms (hang)`;
  if (o.kind === 'socket') return `socket error ${o.code}: ${o.message}`;
  const snippet = snippetOf(o.text);
  if (o.status >= 500)
    return `status ${o.status} (${o.headers['x-crash-child-error'] ? `express error handler, ${o.headers['x-crash-child-error']}` : 'no express error'}): ${snippet}`;
  if (o.status >= 400) {
    const tag = String(o.headers['x-crash-child-error'] ?? '');
    if (chain !== 'plain' && BODY_PARSER_TAG.test(tag)) return undefined; // the app's express.json() refused it
    let json: unknown;
    try {
      json = JSON.parse(o.text);
    } catch {
      return `status ${o.status} with a body that is not JSON: ${snippet}`;
    }
    if (!isProviderError(v.path, json)) return `status ${o.status} not in the ${v.path === MESSAGES ? 'Anthropic' : 'OpenAI'} error shape: ${snippet}`;
    return undefined;
  }
  if (o.status >= 200 && o.status < 300) return o.headers['x-echo-upstream'] === '1' ? undefined : `status ${o.status} not from the upstream: ${snippet}`;
  return `unexpected status ${o.status}: ${snippet}`;
}

const child = new CrashChild();

/** What came back, per chain: `json 400`, `plain timeout`… Printed with CRASH_SAFETY_VERBOSE=1 and on a survival failure. */
const tally = new Map<string, number>();
function count(chain: Chain, o: Outcome): void {
  const key = `${chain} ${o.kind === 'response' ? o.status : o.kind}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
const tallyText = () =>
  [...tally]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');

function variantText(v: Variant): string {
  return `${v.path} mode=${v.mode} optIn=${v.optIn}${v.bypass ? ' bypass' : ''}${v.gzip ? ' gzip' : ''}`;
}

interface Sent {
  /** What is wrong, or undefined. */
  problem?: string;
  /** The child died on this request (it has been restarted). */
  died: boolean;
  /** No response within the timeout. */
  hung: boolean;
}

/**
 * Sends `bytes` under `v` to one target. A problem carries the child's stderr tail when it died
 * (after which the child has been restarted).
 */
async function sendOne(chain: Chain, major: number, v: Variant, bytes: Buffer, label: string): Promise<Sent> {
  // A death not yet seen (e.g. a crash a tick after the previous response) is charged to that request.
  const earlier = await child.revive();
  const target = `${chain}/e${major}`;
  child.current = `${target} ${variantText(v)} ${label}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (v.bypass) headers['x-headroom-bypass'] = 'true';
  if (v.gzip) headers['content-encoding'] = 'gzip';
  const o = await post(child.port(chain, major, v.mode), v.path, headers, bytes, timeoutFor(bytes.length));
  count(chain, o);
  let problem = judge(o, chain, v);
  // Give a crash the moment it takes to show, then look: dead is a failure whatever the client saw.
  const stillAlive = await child.settle(problem ? 300 : 0);
  const died = !stillAlive;
  if (died) {
    const death = await child.revive();
    problem = `CHILD DIED (code ${death!.code}, signal ${death!.signal}) — client saw: ${problem ?? `status ${(o as { status?: number }).status}`}\n      child stderr: ${death!.stderrTail.replace(/\n/g, '\n        ')}`;
  }
  child.current = 'idle';
  if (earlier) problem = `${problem ? `${problem}; ` : ''}(child had died after an earlier request: ${earlier.during})`;
  return { problem, died, hung: o.kind === 'timeout' };
}

const TARGETS: Array<[Chain, number]> = CHAINS.flatMap((c) => MAJORS.map((m) => [c, m] as [Chain, number]));

/** One body under one variant through every chain × Express major. Throws listing every failing target. */
async function throughEveryChain(c: Case, v: Variant): Promise<void> {
  const bytes = render(c.spec, v);
  const failures: Failure[] = [];
  for (const [chain, major] of TARGETS) {
    const { problem } = await sendOne(chain, major, v, bytes, c.label);
    if (problem) failures.push({ target: `${chain}/e${major}`, what: problem });
  }
  if (failures.length) {
    throw new Error(
      `${failures.length}/${TARGETS.length} targets failed for ${variantText(v)} (${bytes.length} bytes sent):\n${failures.map((f) => `  ${f.target}: ${f.what}`).join('\n')}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries (all produce JSON text pieces)

const variantArb: fc.Arbitrary<Variant> = fc.record({
  path: fc.constantFrom<ApiPath>(CHAT, MESSAGES, RESPONSES),
  mode: fc.constantFrom<Mode>('optin', 'on'),
  optIn: fc.constantFrom<OptIn>('none', 'guardrails', 'litellm_metadata', 'metadata'),
  bypass: fc.boolean(),
  gzip: fc.boolean(),
});

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Strings with lone surrogates (escaped by JSON.stringify as \udXXX: valid JSON). */
const jsString = fc.string({
  unit: fc.oneof({ weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: loneSurrogate }),
  maxLength: 60,
});
/** A string literal that may hold raw bytes that are not UTF-8 (or not JSON). */
const rawStringLit = fc
  .array(
    fc.oneof(
      jsString.map((s) => JSON.stringify(s).slice(1, -1)),
      fc.nat({ max: RAW_SEQUENCES.length - 1 }).map(rawToken),
    ),
    { maxLength: 6 },
  )
  .map((pieces) => `"${pieces.join('')}"`);
/** Tool output the embedded compressor has work on: JSON rows, log lines, a listing. */
const toolText = fc.record({ kind: fc.constantFrom('json', 'log', 'list'), n: fc.integer({ min: 1, max: 800 }) }).map(({ kind, n }) => {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    if (kind === 'json') rows.push(JSON.stringify({ id: i, name: `item-${i}`, ok: i % 3 !== 0, tags: ['a', 'b'] }));
    else if (kind === 'log') rows.push(`2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z INFO worker-${i % 4} processed job ${i} in ${i % 97} ms`);
    else rows.push(`src/dir${i % 7}/file${i}.ts:${i + 1}: export function f${i}() {}`);
  }
  return kind === 'json' ? `[${rows.join(',')}]` : rows.join('\n');
});
const strLit = fc.oneof(
  { weight: 4, arbitrary: jsString.map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: rawStringLit },
  { weight: 2, arbitrary: toolText.map((s) => JSON.stringify(s)) },
);
const jsonLit = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
const anyLit = fc.oneof(strLit, jsonLit);

/** `"__proto__"` / `constructor.prototype` fields: data to JSON.parse, a pollution attempt to anything that merges. */
const protoField: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constant<[string, string]>(['__proto__', `{"role":"tool","guardrails":${GUARDRAIL},"polluted":true}`]),
  jsonLit.map((t): [string, string] => ['__proto__', t]),
  fc.constant<[string, string]>(['constructor', '{"prototype":{"polluted":true}}']),
);
/** Rare: `fc.option`'s freq is the odds of the nil value, the opposite of what is wanted here. */
const sometimes = <T>(arb: fc.Arbitrary<T>, weight = 1, outOf = 4): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: outOf - weight, arbitrary: fc.constant(undefined) }, { weight, arbitrary: arb });
const maybeProto = sometimes(protoField);
const withProto = (fields: Array<[string, string]>, p: [string, string] | undefined): Array<[string, string]> => (p ? [p, ...fields] : fields);

const textPart = fc.tuple(anyLit, maybeProto).map(([t, p]) =>
  objText(
    withProto(
      [
        ['type', '"text"'],
        ['text', t],
      ],
      p,
    ),
  ),
);
const imagePart = fc.constant(
  objText([
    ['type', '"image"'],
    ['source', '{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}'],
  ]),
);
const partsLit = fc.array(fc.oneof(textPart, imagePart, jsonLit), { maxLength: 4 }).map(arrText);

const openaiToolRow = fc.tuple(anyLit, fc.oneof(strLit, partsLit, jsonLit), maybeProto).map(([id, content, p]) =>
  objText(
    withProto(
      [
        ['role', '"tool"'],
        ['tool_call_id', id],
        ['content', content],
      ],
      p,
    ),
  ),
);
const toolResultBlock = fc.tuple(anyLit, fc.oneof(strLit, partsLit, jsonLit), fc.option(fc.boolean(), { nil: undefined }), maybeProto).map(([id, content, isError, p]) => {
  const fields: Array<[string, string]> = [
    ['type', '"tool_result"'],
    ['tool_use_id', id],
    ['content', content],
  ];
  if (isError !== undefined) fields.push(['is_error', String(isError)]);
  return objText(withProto(fields, p));
});
const anthropicUserRow = fc
  .tuple(fc.oneof(strLit, fc.array(fc.oneof(toolResultBlock, textPart, imagePart, jsonLit), { maxLength: 4 }).map(arrText)), maybeProto)
  .map(([content, p]) =>
    objText(
      withProto(
        [
          ['role', '"user"'],
          ['content', content],
        ],
        p,
      ),
    ),
  );
const assistantRow = fc
  .tuple(
    fc.oneof(
      strLit,
      fc.constant('null'),
      fc
        .array(
          fc.tuple(anyLit, jsonLit).map(([id, input]) =>
            objText([
              ['type', '"tool_use"'],
              ['id', id],
              ['name', '"bash"'],
              ['input', input],
            ]),
          ),
          { maxLength: 3 },
        )
        .map(arrText),
    ),
  )
  .map(([content]) =>
    objText([
      ['role', '"assistant"'],
      ['content', content],
    ]),
  );
const otherRow = fc.tuple(fc.oneof(fc.constantFrom('"system"', '"developer"', '"function"', '5', 'null', '{}'), strLit), anyLit).map(([role, content]) =>
  objText([
    ['role', role],
    ['content', content],
  ]),
);
const row = fc.oneof(
  { weight: 4, arbitrary: openaiToolRow },
  { weight: 4, arbitrary: anthropicUserRow },
  { weight: 2, arbitrary: assistantRow },
  { weight: 1, arbitrary: otherRow },
  { weight: 1, arbitrary: jsonLit },
);

const TINY_ROWS = [
  '{"role":"tool","tool_call_id":"c","content":"ok"}',
  '{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}',
  '{"role":"assistant","content":"k"}',
];
/** `n` tiny messages (OpenAI tool rows, Anthropic tool_results, assistant turns), as text. */
function wideMessages(n: number): string {
  const per = TINY_ROWS.join(',');
  const whole = Math.floor(n / TINY_ROWS.length);
  const rest = TINY_ROWS.slice(0, n - whole * TINY_ROWS.length);
  return `[${Array(whole).fill(per).concat(rest).join(',')}]`;
}

const messagesLit = fc.oneof(
  { weight: 10, arbitrary: fc.array(row, { maxLength: 10 }).map(arrText) },
  { weight: 1, arbitrary: jsonLit },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map(wideMessages) },
);
const truncateArb = sometimes(fc.double({ min: 0, max: 0.999, noNaN: true }), 1, 6);

const structuredCase: fc.Arbitrary<Case> = fc
  .record({
    model: fc.oneof(fc.constantFrom('"gpt-4o"', '"claude-sonnet-4-5"'), jsonLit),
    messages: messagesLit,
    tools: fc.option(fc.array(jsonLit, { maxLength: 3 }).map(arrText), { nil: undefined }),
    system: fc.option(strLit, { nil: undefined }),
    stream: fc.option(fc.boolean(), { nil: undefined }),
    proto: maybeProto,
    truncate: truncateArb,
  })
  .map(({ model, messages, tools, system, stream, proto, truncate }) => {
    const fields: Array<[string, string]> = [
      ['model', model],
      ['messages', messages],
    ];
    if (tools !== undefined) fields.push(['tools', tools]);
    if (system !== undefined) fields.push(['system', system]);
    if (stream !== undefined) fields.push(['stream', String(stream)]);
    return new Case('messages of arbitrary shapes', { kind: 'object', fields: withProto(fields, proto), truncate });
  });

/** A Responses `input` item: tool outputs (string, parts, junk), reasoning, calls, messages, anything. */
const responsesItem = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('"function_call_output"', '"custom_tool_call_output"', '"local_shell_call_output"'),
        fc.oneof(
          strLit,
          anyLit,
          fc.array(fc.oneof(strLit, anyLit), { maxLength: 3 }).map((texts) =>
            arrText(
              texts.map((t) =>
                objText([
                  ['type', '"input_text"'],
                  ['text', t],
                ]),
              ),
            ),
          ),
        ),
      )
      .map(([type, output]) =>
        objText([
          ['type', type],
          ['call_id', '"c"'],
          ['output', output],
        ]),
      ),
  },
  {
    weight: 2,
    arbitrary: anyLit.map((e) =>
      objText([
        ['type', '"reasoning"'],
        ['id', '"rs"'],
        ['encrypted_content', e],
      ]),
    ),
  },
  {
    weight: 2,
    arbitrary: anyLit.map((a) =>
      objText([
        ['type', '"function_call"'],
        ['call_id', '"c"'],
        ['name', '"exec_command"'],
        ['arguments', a],
      ]),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('"user"', '"assistant"', '"developer"'), anyLit).map(([role, content]) =>
      objText([
        ['type', '"message"'],
        ['role', role],
        ['content', content],
      ]),
    ),
  },
  { weight: 1, arbitrary: jsonLit },
);

const responsesCase: fc.Arbitrary<Case> = fc
  .record({
    input: fc.oneof({ weight: 8, arbitrary: fc.array(responsesItem, { maxLength: 10 }).map(arrText) }, { weight: 1, arbitrary: strLit }, { weight: 1, arbitrary: jsonLit }),
    previous: fc.option(anyLit, { nil: undefined }),
    proto: maybeProto,
    truncate: truncateArb,
  })
  .map(({ input, previous, proto, truncate }) => {
    const fields: Array<[string, string]> = [
      ['model', '"gpt-5"'],
      ['input', input],
    ];
    if (previous !== undefined) fields.push(['previous_response_id', previous]);
    return new Case('Responses input items of arbitrary shapes', { kind: 'object', fields: withProto(fields, proto), truncate });
  });

const jsonValueCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(fc.jsonValue(), truncateArb).map(([v, truncate]) => new Case('fc.jsonValue() as the whole body', { kind: 'raw', text: JSON.stringify(v), truncate })),
  fc.jsonValue().map(
    (v) =>
      new Case('fc.jsonValue() as messages', {
        kind: 'object',
        fields: [
          ['model', '"m"'],
          ['messages', JSON.stringify(v)],
        ],
      }),
  ),
  fc
    .jsonValue()
    .map(
      (v) => new Case('fc.jsonValue() as a tool row content', { kind: 'object', fields: [['messages', `[{"role":"tool","tool_call_id":"t","content":${JSON.stringify(v)}}]`]] }),
    ),
  fc.jsonValue().map(
    (v) =>
      new Case('fc.jsonValue() as a tool_result content', {
        kind: 'object',
        fields: [['messages', `[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":${JSON.stringify(v)}}]}]`]],
      }),
  ),
  fc
    .dictionary(fc.string(), fc.jsonValue())
    .map((d) => new Case('fc.dictionary of fc.jsonValue() as the body', { kind: 'object', fields: Object.entries(d).map(([k, v]) => [k, JSON.stringify(v)]) })),
);

type Where = 'top' | 'message-content' | 'tool-row-content' | 'tool-result-content' | 'tools' | 'message-field' | 'tool-text-string';
const NEW_TOOL_ROW = '{"role":"tool","tool_call_id":"t1","content":"total 3\\n-rw-r--r-- 1 u g 10 a.txt\\n-rw-r--r-- 1 u g 20 b.txt"}';

/** A body nested `depth` levels at `where`. */
function deepCase(depth: number, kind: 'array' | 'object' | 'mixed', where: Where): Case {
  const deep = deepText(depth, kind);
  const label = `${depth}-level ${kind} nesting at ${where}`;
  const msgs = (first: string) => ['messages', `[${first},${NEW_TOOL_ROW}]`] as [string, string];
  switch (where) {
    case 'top':
      // An array stays the whole body; objects nest under one key, so the body can still opt in.
      return kind === 'array'
        ? new Case(label, { kind: 'raw', text: deep })
        : new Case(label, {
            kind: 'object',
            fields: [
              ['a', deepText(depth - 1, kind)],
              ['messages', `[${NEW_TOOL_ROW}]`],
            ],
          });
    case 'message-content':
      return new Case(label, { kind: 'object', fields: [['model', '"m"'], msgs(`{"role":"user","content":${deep}}`)] });
    case 'tool-row-content':
      return new Case(label, { kind: 'object', fields: [['model', '"m"'], msgs(`{"role":"tool","tool_call_id":"t0","content":${deep}}`)] });
    case 'tool-result-content':
      return new Case(label, { kind: 'object', fields: [['model', '"m"'], msgs(`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t0","content":${deep}}]}`)] });
    case 'tools':
      return new Case(label, {
        kind: 'object',
        fields: [
          ['model', '"m"'],
          ['messages', `[${NEW_TOOL_ROW}]`],
          ['tools', `[{"type":"function","function":{"name":"f","parameters":${deep}}}]`],
        ],
      });
    case 'message-field':
      return new Case(label, { kind: 'object', fields: [['model', '"m"'], msgs(`{"role":"tool","tool_call_id":"t0","content":"x","extra":${deep}}`)] });
    case 'tool-text-string':
      // Deep JSON as tool OUTPUT text: the compressor may parse it as JSON.
      return new Case(label, { kind: 'object', fields: [['model', '"m"'], msgs(`{"role":"tool","tool_call_id":"t0","content":${JSON.stringify(deep)}}`)] });
  }
}

const deepArb: fc.Arbitrary<Case> = fc
  .record({
    depth: fc.integer({ min: 1000, max: 50_000 }),
    kind: fc.constantFrom<'array' | 'object' | 'mixed'>('array', 'object', 'mixed'),
    where: fc.constantFrom<Where>('top', 'message-content', 'tool-row-content', 'tool-result-content', 'tools', 'message-field', 'tool-text-string'),
  })
  .map(({ depth, kind, where }) => deepCase(depth, kind, where));

// ---------------------------------------------------------------------------------------------
// Runs

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<[Case, Variant]> => ({
  numRuns,
  seed,
  // A failing body has usually killed the child: shrinking would replay it through restarts for
  // minutes. The first counterexample, described, is what is reported.
  endOnFailure: true,
});

beforeAll(async () => {
  await child.start();
}, 40_000);

afterAll(async () => {
  await child.stop();
}, 15_000);

test('fc.jsonValue() bodies, whole and inside messages', async () => {
  await fc.assert(
    fc.asyncProperty(jsonValueCase, variantArb, (c, v) => throughEveryChain(c, v)),
    params(100),
  );
}, 120_000);

test('messages arrays of arbitrary shapes (tool rows, tool_results, junk, raw bytes, __proto__, truncated, wide)', async () => {
  await fc.assert(
    fc.asyncProperty(structuredCase, variantArb, (c, v) => throughEveryChain(c, v)),
    params(80),
  );
}, 120_000);

test('Responses input items of arbitrary shapes (outputs, reasoning, calls, junk, string input)', async () => {
  await fc.assert(
    fc.asyncProperty(responsesCase, variantArb, (c, v) => throughEveryChain(c, v)),
    params(60),
  );
}, 120_000);

test('deep nesting (1k–50k levels) at the top, inside messages, inside tools', async () => {
  await fc.assert(
    fc.asyncProperty(deepArb, variantArb, (c, v) => throughEveryChain(c, v)),
    params(60),
  );
}, 120_000);

// ---------------------------------------------------------------------------------------------
// Fixed worst cases: always run, through every chain under several variants.

const V = (path: ApiPath, mode: Mode, optIn: OptIn, bypass = false, gzip = false): Variant => ({ path, mode, optIn, bypass, gzip });
const ALL_VARIANTS: Variant[] = [
  V(CHAT, 'optin', 'guardrails'), // opted in per body: parsed, compressed, re-serialised
  V(MESSAGES, 'on', 'none'), // defaultOn
  V(CHAT, 'optin', 'none'), // not opted in: forwarded as is
  V(MESSAGES, 'optin', 'litellm_metadata', true), // opted in and bypassed: opt-in fields stripped
  V(CHAT, 'on', 'metadata', false, true), // gzip-encoded
];
const HEAVY_VARIANTS: Variant[] = [ALL_VARIANTS[0], ALL_VARIANTS[3]];

/** A gzip body of `inflated` bytes of JSON whitespace inside an opted-in messages array: tiny on the wire. */
function gzipBomb(inflated: number): Buffer {
  const head = Buffer.from('{"guardrails":["headroom-compression"],"messages":[');
  return zlib.gzipSync(Buffer.concat([head, Buffer.alloc(inflated, 0x20), Buffer.from(`${NEW_TOOL_ROW}]}`)]), { level: 9 });
}

interface Fixed {
  name: string;
  case: () => Case;
  variants: Variant[];
  /** Pre-built bytes (sent under every variant, encoding header from the variant). */
  bytes?: () => Buffer;
}

const FIXED: Fixed[] = [
  { name: '10,000-level [[[…]]] as the whole body', case: () => new Case('10k [[…]] body', { kind: 'raw', text: deepText(10_000, 'array') }), variants: ALL_VARIANTS },
  { name: '10,000-level [[[…]]] as messages[0].content', case: () => deepCase(10_000, 'array', 'message-content'), variants: ALL_VARIANTS },
  { name: '10,000-level objects inside tools', case: () => deepCase(10_000, 'object', 'tools'), variants: ALL_VARIANTS },
  { name: '100,000-level nesting as messages[0].content', case: () => deepCase(100_000, 'mixed', 'message-content'), variants: ALL_VARIANTS },
  { name: '100,000-level [[[…]]] as the whole body', case: () => new Case('100k [[…]] body', { kind: 'raw', text: deepText(100_000, 'array') }), variants: ALL_VARIANTS },
  { name: '50,000-level JSON as tool output text', case: () => deepCase(50_000, 'mixed', 'tool-text-string'), variants: ALL_VARIANTS },
  {
    name: '200,000 tiny messages',
    case: () =>
      new Case('200k tiny messages', {
        kind: 'object',
        fields: [
          ['model', '"m"'],
          ['messages', wideMessages(200_000)],
        ],
      }),
    variants: HEAVY_VARIANTS,
  },
  {
    name: 'gzip bomb (80 MB of JSON whitespace, gzip-encoded)',
    case: () => new Case('gzip bomb', { kind: 'raw', text: '' }),
    bytes: () => gzipBomb(80 * 1024 * 1024),
    variants: [V(CHAT, 'optin', 'none', false, true), V(MESSAGES, 'on', 'none', false, true)],
  },
];

describe('fixed worst cases, every chain', () => {
  test.each(FIXED.map((f) => [f.name, f] as const))(
    '%s',
    async (_name, f) => {
      const c = f.case();
      const prebuilt = f.bytes?.();
      const failures: string[] = [];
      const broken = new Set<string>();
      for (const v of f.variants) {
        const bytes = prebuilt ?? render(c.spec, v);
        for (const [chain, major] of TARGETS) {
          const target = `${chain}/e${major}`;
          // After a crash or a hang on a target, its later variants are skipped: each would only cost
          // another restart or another timeout. Other failures go on to the next variant.
          if (broken.has(target)) continue;
          const { problem, died, hung } = await sendOne(chain, major, v, bytes, f.name);
          if (died || hung) broken.add(target);
          if (problem) failures.push(`  ${target} ${variantText(v)} (${bytes.length} bytes): ${problem}`);
        }
      }
      if (failures.length)
        throw new Error(`${f.name}: ${failures.length} request(s) failed (after a crash or hang, that target's later variants are skipped):\n${failures.join('\n')}`);
    },
    120_000,
  );
});

// ---------------------------------------------------------------------------------------------
// The retrieval router (REST and MCP) on every chain: generated hashes, queries and bodies.

const SEEDED_HASH = contentHash(SEEDED_ORIGINAL);
const withinQueryBounds = (q: string) => q.length <= MAX_QUERY_LENGTH && queryTerms(q).length <= MAX_QUERY_TERMS;

/** GETs a path on a fresh connection; resolves with what happened. */
function get(port: number, urlPath: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ kind: 'response', status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'socket', code: err.code ?? 'ERR', message: err.message }));
  });
}

test('retrieval: generated hashes, queries, REST bodies and MCP calls never crash, hang or answer 5xx', async () => {
  const hash = fc.oneof(fc.constant(SEEDED_HASH), fc.string({ maxLength: 40 }), fc.stringMatching(/^[0-9a-f]{12,24}$/), fc.constant('__proto__'));
  const query = fc.oneof(
    fc.constantFrom('refunded', 'ERR_CARD_DECLINED "quoted"', 'ord_1', '"', '""', '\\', '.*+?'),
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ minLength: 900, maxLength: 1200 }),
    fc.array(fc.constantFrom('ord_1', 'paid', 'x'), { minLength: 25, maxLength: 40 }).map((words) => words.join(' ')),
  );
  const restBody = fc.oneof(fc.record({ hash, query: fc.option(query, { nil: undefined }) }), fc.jsonValue({ maxDepth: 4 }));
  const mcpBody = fc.oneof(
    fc.record({
      jsonrpc: fc.constant('2.0'),
      id: fc.nat(),
      method: fc.constant('tools/call'),
      params: fc.record({ name: fc.constantFrom('headroom_retrieve', 'other'), arguments: fc.oneof(fc.record({ hash, query }), fc.jsonValue({ maxDepth: 3 })) }),
    }),
    fc.jsonValue({ maxDepth: 4 }),
  );
  const request = fc.oneof(
    fc.record({ kind: fc.constant('get' as const), hash, query: fc.option(query, { nil: undefined }) }),
    fc.record({ kind: fc.constant('rest' as const), body: restBody }),
    fc.record({ kind: fc.constant('mcp' as const), body: mcpBody }),
  );
  const problems: string[] = [];
  await fc.assert(
    fc.asyncProperty(request, fc.constantFrom(...TARGETS), async (r, [chain, major]) => {
      const port = child.port(chain, major, 'on');
      let o: Outcome;
      if (r.kind === 'get') o = await get(port, `/v1/retrieve/${encodeURIComponent(r.hash)}${r.query === undefined ? '' : `?query=${encodeURIComponent(r.query)}`}`);
      else {
        const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
        o = await post(port, r.kind === 'rest' ? '/v1/retrieve' : '/mcp', headers, Buffer.from(JSON.stringify(r.body) ?? 'null'), 5000);
      }
      if (o.kind !== 'response' || o.status >= 500) problems.push(`${chain}/e${major} ${JSON.stringify(r).slice(0, 200)}: ${JSON.stringify(o).slice(0, 300)}`);
      // The seeded hash is always found, with any query within the bounds (1,000 characters, 32 terms).
      else if (r.kind === 'get' && r.hash === SEEDED_HASH && (r.query === undefined || withinQueryBounds(r.query)) && o.status !== 200)
        problems.push(`${chain}/e${major} seeded hash not found: ${o.status} ${o.text.slice(0, 200)}`);
    }),
    { numRuns: 150 },
  );
  expect(problems).toEqual([]);
}, 120_000);

// ---------------------------------------------------------------------------------------------
// Survival: last, so it covers everything above.

test('the child survived every request: alive, healthy, unpolluted, no uncaught error', async () => {
  await child.revive(); // a death after the last request is still a death
  const problems: string[] = [];
  // One line per death (the stacks are in the failing tests above), the first death's report in full.
  child.deaths.forEach((d, i) => {
    const first = d.stderrTail.split('\n')[0];
    problems.push(`child died (code ${d.code}, signal ${d.signal}) serving: ${d.during}${i === 0 ? `\n${d.stderrTail}` : ` — ${first}`}`);
  });
  expect(child.proc!.exitCode).toBeNull();
  for (const [name, port] of Object.entries(child.info!.apps)) {
    const o = await new Promise<Outcome>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ kind: 'response', status: res.statusCode!, headers: res.headers, text }));
      });
      req.setTimeout(5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'socket', code: err.code ?? 'ERR', message: err.message }));
    });
    if (o.kind !== 'response' || o.status !== 200) problems.push(`GET /health on ${name}: ${JSON.stringify(o).slice(0, 300)}`);
    else if (JSON.parse(o.text).polluted) problems.push(`Object.prototype polluted (seen from ${name}): ${o.text}`);
  }
  const marker = child.stderrAll.split('\n').filter((l) => /Uncaught|unhandledRejection/.test(l));
  if (marker.length) problems.push(`child stderr has ${marker.length} Uncaught/unhandledRejection line(s), first: ${marker[0].slice(0, 500)}`);
  if (process.env.CRASH_SAFETY_VERBOSE) console.log(`responses by chain: ${tallyText()}; child restarts: ${child.restarts}`);
  if (problems.length) problems.push(`responses by chain: ${tallyText()}`);
  expect(problems).toEqual([]);
}, 30_000);
