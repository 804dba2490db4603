/**
 * A realistic Claude Code session, generated (deterministically) rather than recorded: the
 * `/v1/messages?beta=true` requests Claude Code sends while it chases a failing refund through a
 * JSON file, a log, a grep listing, a source file and a test run.
 *
 * What makes it Claude Code shaped: `system` is an array of text blocks with `cache_control`;
 * tools carry JSON schemas; every assistant turn has a `thinking` block with a `signature` the
 * provider requires back unchanged, then a `tool_use`; tool output comes back as `tool_result`
 * blocks in user rows, and the `cache_control` breakpoint moves to the newest one every turn; a
 * `role: "system"` row sits inside `messages`; requests stream.
 */
import type { Answer } from './upstream-standin';

export const SESSION_MODEL = 'claude-opus-4-8';
export const WORKDIR = '/home/dev/shop';

/** Headers Claude Code sends (the key goes in Authorization: Bearer, added by the caller). */
export const CLAUDE_CODE_HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27',
  'user-agent': 'claude-cli/2.1.197 (external, cli)',
  'x-app': 'cli',
};

export interface SessionTurn {
  /** What the newest tool output in this request is, for the demo's table. */
  label: string;
  path: string;
  body: Record<string, unknown>;
}

export interface Session {
  turns: SessionTurn[];
  /** `answers[n]`: what the model says to a request that already holds `n` assistant turns. */
  answers: Answer[];
}

/** mulberry32: a small seeded PRNG, so every run generates the same session (the compressor's fixture generator uses it too). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ephemeral = { type: 'ephemeral' };

const SYSTEM_PROMPT = [
  'You are an interactive agent that helps users with software engineering tasks. Use the instructions below and the tools available to you to assist the user.',
  '',
  '# Tone and style',
  'Be concise and direct. Explain non-trivial commands before you run them, especially ones that change the system. Answer in a few lines unless the user asks for detail; do not restate what you just did.',
  '',
  '# Doing tasks',
  "Most requests are about fixing bugs, adding features, refactoring and explaining code. Work in this order: understand the code and its conventions (search first, read the files that matter), make the change, then verify it with the project's own tests, linters and type checks. Never assume a library is available: check the package manifest and the neighbouring files. Follow the existing style, naming and structure; add comments only where the code cannot say it.",
  '',
  '# Tool use',
  'Prefer the dedicated tools to shell equivalents: Read to read files, Grep to search contents, Glob to find files by name, Edit to change files. Run independent tool calls in parallel. Tool results and user messages may include <system-reminder> tags; they carry context from the system and bear no direct relation to the tool result in which they appear.',
  '',
  '# Safety',
  'Do not commit, push or delete anything unless the user asks. Never print or log secrets. Refuse to write code that is plainly malicious. When a command fails, read the error before retrying, and do not repeat a failing command unchanged.',
  '',
  '# Code references',
  'When you refer to code, use the pattern file_path:line_number so the user can jump to it.',
].join('\n');

function schema(properties: Record<string, { type: string; description: string }>, required: string[]) {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties, required, additionalProperties: false };
}

const TOOLS = [
  {
    name: 'Bash',
    description:
      'Executes a bash command and returns its output. The working directory persists between calls. Prefer absolute paths. Timeout in milliseconds: default 120000, max 600000.',
    input_schema: schema(
      { command: { type: 'string', description: 'The command to execute' }, description: { type: 'string', description: 'What the command does, in 5-10 words' } },
      ['command'],
    ),
  },
  {
    name: 'Read',
    description: 'Reads a file from the local filesystem. Returns it with line numbers (cat -n format). Use offset and limit for long files.',
    input_schema: schema(
      {
        file_path: { type: 'string', description: 'Absolute path of the file' },
        offset: { type: 'number', description: 'First line to read' },
        limit: { type: 'number', description: 'Number of lines' },
      },
      ['file_path'],
    ),
  },
  {
    name: 'Grep',
    description: 'Searches file contents with ripgrep. Supports full regex syntax. output_mode "content" shows matching lines as path:line:text.',
    input_schema: schema(
      {
        pattern: { type: 'string', description: 'Regular expression' },
        path: { type: 'string', description: 'Directory to search' },
        output_mode: { type: 'string', description: 'content | files_with_matches | count' },
      },
      ['pattern'],
    ),
  },
  {
    name: 'Glob',
    description: 'Finds files by name pattern, such as "src/**/*.ts". Returns matching paths sorted by modification time.',
    input_schema: schema({ pattern: { type: 'string', description: 'Glob pattern' }, path: { type: 'string', description: 'Directory to search in' } }, ['pattern']),
  },
  {
    name: 'Edit',
    description: 'Replaces exact text in a file. old_string must be unique in the file unless replace_all is true. Read the file first.',
    input_schema: schema(
      {
        file_path: { type: 'string', description: 'Absolute path of the file' },
        old_string: { type: 'string', description: 'Text to replace' },
        new_string: { type: 'string', description: 'Replacement text' },
      },
      ['file_path', 'old_string', 'new_string'],
    ),
  },
];

// ---- tool output ------------------------------------------------------------------------------

function ordersJson(r: () => number): string {
  const tiers = ['gold', 'silver', 'bronze'];
  const orders = [];
  for (let i = 0; i < 120; i++) {
    const total = 1500 + Math.floor(r() * 60000);
    const failed = i % 37 === 17;
    const refunded = failed || r() < 0.2;
    orders.push({
      id: 1000 + i,
      name: `order-${i}`,
      customer: { id: 10 + Math.floor(r() * 80), tier: tiers[Math.floor(r() * 3)] },
      total_cents: total,
      currency: 'USD',
      status: failed ? 'refund_failed' : refunded ? 'refunded' : r() < 0.8 ? 'paid' : 'pending',
      refund: refunded ? { requested_cents: failed ? total + 1 : total, error: failed ? 'amount_exceeds_captured' : null } : null,
      items: 1 + Math.floor(r() * 9),
      created: new Date(Date.UTC(2026, 10, 1 + (i % 25), i % 24, (i * 7) % 60)).toISOString().replace('.000', ''),
    });
  }
  return JSON.stringify({ orders }, null, 2);
}

function workerLog(r: () => number): string {
  const lines: string[] = [];
  const start = Date.UTC(2026, 10, 26, 10, 0, 0);
  for (let i = 0; i < 400; i++) {
    const ts = new Date(start + i * 9_137 + 123).toISOString();
    const pid = 4000 + (i % 3);
    if (i === 211 || i === 287 || i === 355) {
      const order = 1000 + [17, 54, 91][[211, 287, 355].indexOf(i)];
      lines.push(`${ts} ERROR payment-worker[${pid}] refund failed order=${order} reason=amount_exceeds_captured requested_cents=4600 captured_cents=4599`);
      lines.push('RefundAmountError: requested 4600 exceeds captured 4599');
      lines.push(`    at computeRefund (${WORKDIR}/src/payments/refund.ts:31:11)`);
      lines.push(`    at processRefund (${WORKDIR}/src/payments/worker.ts:88:24)`);
      lines.push('    at async Promise.all (index 2)');
      lines.push(`    at async drainQueue (${WORKDIR}/src/payments/worker.ts:41:5)`);
    } else if (i % 50 === 7) {
      lines.push(`${ts} WARN  payment-worker[${pid}] slow batch size=50 latency_ms=${900 + Math.floor(r() * 400)} queue=payments`);
    } else if (i % 4 === 0) {
      lines.push(`${ts} INFO  payment-worker[${pid}] refund ok order=${1000 + Math.floor(r() * 120)} amount_cents=${1000 + Math.floor(r() * 50000)}`);
    } else {
      lines.push(`${ts} INFO  payment-worker[${pid}] processed batch size=50 latency_ms=${20 + Math.floor(r() * 20)} queue=payments`);
    }
  }
  return lines.join('\n');
}

function grepListing(r: () => number): string {
  const files = [
    'src/payments/refund.ts',
    'src/payments/worker.ts',
    'src/payments/capture.ts',
    'src/payments/money.ts',
    'src/api/routes/refunds.ts',
    'src/api/routes/orders.ts',
    'src/jobs/reconcile.ts',
    'src/payments/__tests__/refund.test.ts',
    'src/payments/__tests__/worker.test.ts',
    'src/api/__tests__/refunds.test.ts',
  ];
  const code = [
    'const refund = await computeRefund(order, request);',
    'export function computeRefund(order: Order, req: RefundRequest): Refund {',
    'if (refund.amountCents > order.capturedCents) throw new RefundAmountError(refund.amountCents, order.capturedCents);',
    "logger.info({ order: order.id, amount_cents: refund.amountCents }, 'refund ok');",
    'const cents = toCents(req.amount * order.fxRate);',
    'await refunds.insert({ orderId: order.id, amountCents: refund.amountCents });',
  ];
  const tests = [
    'expect(computeRefund(order, { amount: 45.99 }).amountCents).toBe(4599);',
    'expect(() => computeRefund(paidOrder, { amount: 100 })).toThrow(RefundAmountError);',
    "it('refunds the captured amount in cents', () => {",
    'const refund = computeRefund(order, { amount: 12.5, currency: "EUR" });',
  ];
  const out: string[] = [];
  for (const f of files) {
    const snippets = f.includes('__tests__') ? tests : code;
    const n = 6 + Math.floor(r() * 10);
    let line = 5;
    for (let i = 0; i < n; i++) {
      line += 1 + Math.floor(r() * 20);
      out.push(`${WORKDIR}/${f}:${line}:  ${snippets[Math.floor(r() * snippets.length)]}`);
    }
  }
  return out.join('\n');
}

const REFUND_SOURCE = `import { Order, RefundRequest, Refund } from './types';
import { RefundAmountError } from './errors';

/** Amounts arrive as decimal currency units from the API and are stored in cents. */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/**
 * Computes the refund for an order. Partial refunds are allowed; the refund may never exceed what
 * was captured, and currencies other than the order's are converted at the order's rate.
 */
export function computeRefund(order: Order, req: RefundRequest): Refund {
  if (order.status !== 'paid' && order.status !== 'partially_refunded') {
    throw new Error(\`order \${order.id} cannot be refunded in status \${order.status}\`);
  }
  const already = order.refunds.reduce((sum, r) => sum + r.amountCents, 0);
  const remaining = order.capturedCents - already;
  // Convert first, then round: 45.99 * 1.0 * 100 = 4598.999999999999, which must become 4599.
  const requested = req.currency && req.currency !== order.currency
    ? req.amount * order.fxRate
    : req.amount;
  const amountCents = Math.ceil(requested * 100);
  if (amountCents <= 0) {
    throw new Error('refund amount must be positive');
  }
  const refund: Refund = { orderId: order.id, amountCents, currency: order.currency };
  if (refund.amountCents > remaining) {
    throw new RefundAmountError(refund.amountCents, remaining);
  }
  return refund;
}

export function isFullRefund(order: Order, refund: Refund): boolean {
  const already = order.refunds.reduce((sum, r) => sum + r.amountCents, 0);
  return already + refund.amountCents === order.capturedCents;
}
`;

function numbered(source: string): string {
  return source
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(6)}\t${l}`)
    .join('\n');
}

function testRun(r: () => number): string {
  const out: string[] = ['', '> shop@1.4.2 test', '> jest --ci', ''];
  const suites = ['orders', 'customers', 'catalog', 'payments', 'api', 'jobs', 'inventory', 'shipping'];
  let tests = 0;
  for (const s of suites) {
    for (let i = 0; i < 9; i++) {
      const n = 3 + Math.floor(r() * 12);
      tests += n;
      out.push(`PASS src/${s}/__tests__/${s}-${i}.test.ts (${(0.2 + r() * 2).toFixed(3)} s)`);
    }
  }
  out.push('PASS src/payments/__tests__/refund.test.ts');
  out.push('');
  out.push('Test Suites: 73 passed, 73 total');
  out.push(`Tests:       ${tests + 11} passed, ${tests + 11} total`);
  out.push('Snapshots:   0 total');
  out.push(`Time:        ${(20 + r() * 5).toFixed(3)} s`);
  out.push('Ran all test suites.');
  return out.join('\n');
}

// ---- the session ------------------------------------------------------------------------------

interface Step {
  thinking: string;
  tool: { name: string; input: Record<string, unknown> };
  /** The tool's output, and how the demo describes it. */
  output: string;
  label: string;
}

function signature(i: number): string {
  return Buffer.from(`standin-signature-${i}-`.padEnd(48, '.')).toString('base64');
}

export function claudeCodeSession(seed = 7): Session {
  const r = rng(seed);
  const steps: Step[] = [
    {
      thinking: 'Start with the orders whose refunds failed.',
      tool: { name: 'Bash', input: { command: `cat ${WORKDIR}/data/orders.json`, description: 'Show the orders export' } },
      output: ordersJson(r),
      label: 'Bash: cat data/orders.json (JSON rows)',
    },
    {
      thinking: 'Three orders are refund_failed with amount_exceeds_captured. The worker log should say why.',
      tool: { name: 'Bash', input: { command: `tail -n 400 ${WORKDIR}/logs/worker.log`, description: 'Read the payment worker log' } },
      output: workerLog(r),
      label: 'Bash: tail -n 400 logs/worker.log (log)',
    },
    {
      thinking: 'Requested 4600 against 4599 captured: a rounding error in computeRefund. Find its callers.',
      tool: { name: 'Grep', input: { pattern: 'computeRefund|amountCents|toCents', path: `${WORKDIR}/src`, output_mode: 'content' } },
      output: grepListing(r),
      label: 'Grep: computeRefund|amountCents (listing)',
    },
    {
      thinking: 'Read the refund computation.',
      tool: { name: 'Read', input: { file_path: `${WORKDIR}/src/payments/refund.ts` } },
      output: numbered(REFUND_SOURCE),
      label: 'Read: src/payments/refund.ts (code)',
    },
    {
      thinking: 'Math.ceil turns 4598.999… into 4599 but 45.995 into 4600; use the same rounding as toCents.',
      tool: {
        name: 'Edit',
        input: { file_path: `${WORKDIR}/src/payments/refund.ts`, old_string: 'Math.ceil(requested * 100)', new_string: 'toCents(requested)' },
      },
      output: `The file ${WORKDIR}/src/payments/refund.ts has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n    22\t  const amountCents = toCents(requested);`,
      label: 'Edit: src/payments/refund.ts (confirmation)',
    },
    {
      thinking: 'Run the test suite.',
      tool: { name: 'Bash', input: { command: 'npm test', description: 'Run the tests' } },
      output: testRun(r),
      label: 'Bash: npm test (test run)',
    },
  ];
  const finalText =
    'Fixed. `computeRefund` rounded refunds up with `Math.ceil`, so a refund of 45.995 became 4600 cents against 4599 captured ' +
    `and the worker rejected it (orders 1017, 1054, 1091). It now uses \`toCents\` (${WORKDIR}/src/payments/refund.ts:22), the same rounding as capture; all 73 suites pass.`;

  const system = [
    { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=cli;' },
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: ephemeral },
    { type: 'text', text: `${SYSTEM_PROMPT}\n\n<env>\nWorking directory: ${WORKDIR}\nIs directory a git repo: Yes\nPlatform: linux\n</env>`, cache_control: ephemeral },
  ];
  const firstUser = {
    role: 'user',
    content: [
      {
        type: 'text',
        text: "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# currentDate\nToday's date is 2026-11-26.\n</system-reminder>\n",
      },
      { type: 'text', text: 'Refunds fail for a few orders in the payment worker ("amount_exceeds_captured"). Find out why and fix it.' },
    ],
  };
  const reminder = { role: 'system', content: 'The user has approved Bash, Read, Grep, Glob and Edit for this session.' };

  const answers: Answer[] = steps.map((s, i) => ({
    thinking: { text: s.thinking, signature: signature(i) },
    toolUse: { id: `toolu_${String(i).padStart(2, '0')}_demo`, name: s.tool.name, input: s.tool.input },
  }));
  answers.push({ thinking: { text: 'Summarise the fix.', signature: signature(steps.length) }, text: finalText });

  const base = {
    model: SESSION_MODEL,
    max_tokens: 32000,
    thinking: { type: 'enabled', budget_tokens: 16000 },
    metadata: { user_id: 'user_demo_account__session_00000000-0000-4000-8000-000000000000' },
    stream: true,
  };

  const turns: SessionTurn[] = [];
  const messages: any[] = [firstUser, reminder];
  const withBreakpoint = (msgs: any[]) => {
    // The breakpoint sits on the last block of the newest user row, and moves every turn.
    const copy = JSON.parse(JSON.stringify(msgs));
    const last = copy.findLast((m: any) => m.role === 'user' && Array.isArray(m.content));
    const blocks = last.content;
    blocks[blocks.length - 1].cache_control = ephemeral;
    return copy;
  };
  turns.push({ label: 'the task', path: '/v1/messages?beta=true', body: { ...base, system, tools: TOOLS, messages: withBreakpoint(messages) } });
  steps.forEach((s, i) => {
    const a = answers[i];
    messages.push({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: a.thinking!.text, signature: a.thinking!.signature },
        { type: 'tool_use', id: a.toolUse!.id, name: a.toolUse!.name, input: a.toolUse!.input },
      ],
    });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: a.toolUse!.id, content: s.output, is_error: false }] });
    turns.push({ label: s.label, path: '/v1/messages?beta=true', body: { ...base, system, tools: TOOLS, messages: withBreakpoint(messages) } });
  });
  return { turns, answers };
}
