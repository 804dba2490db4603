/**
 * JSON arrays of records, as APIs and `cat *.json` return them: tickets, orders, users, deployments,
 * invoices, jobs; 80–400 rows, pretty or compact. The answer items are the matching rows' id values.
 */
import { AnswerCase, Generator } from './types';
import { Rng, isoAt } from './prng';
import { Row, getPath, plantRows, rowMatches } from './rows';

const TICKET_TITLES = [
  'Login loop on Safari',
  'Refund not issued',
  'Checkout fails with 502',
  'Invoice PDF empty',
  'Webhook retries flood',
  'Password reset mail late',
  'CSV export times out',
];
const TAGS = ['sso', 'payments', 'web', 'mobile', 'api', 'billing', 'search'];
const PRIORITIES = ['p0', 'p1', 'p2', 'p3'];
const TICKET_STATUS = ['open', 'closed', 'pending', 'solved'];
const ORDER_STATUS = ['paid', 'shipped', 'delivered', 'refunded', 'cancelled', 'pending'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];
const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'BR', 'IN', 'JP', 'NL'];
const USER_STATUS = ['active', 'invited', 'suspended', 'deleted'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];
const SERVICES = ['billing-api', 'checkout-web', 'search-api', 'auth-service', 'inventory-worker', 'notifications'];
const ENVS = ['production', 'staging', 'dev', 'preview'];
const DEPLOY_STATUS = ['succeeded', 'failed', 'rolled_back', 'in_progress'];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];
const NESTED_STATUS = ['paid', 'pending', 'disputed', 'refunded'];
const INVOICE_STATUS = ['paid', 'draft', 'open', 'overdue', 'void'];
const QUEUES = ['emails', 'exports', 'webhooks', 'thumbnails', 'billing'];
const JOB_STATE = ['done', 'running', 'queued', 'stuck', 'dead'];
const NAMES = ['ana', 'ben', 'chloe', 'dmitri', 'emma', 'farid', 'grace', 'hiro', 'ines', 'jonas', 'kemal', 'lena', 'mateo', 'nora', 'omar', 'priya'];

const rowCount = (rng: Rng) => rng.int(80, 400);

/** Unique ids: increasing, with random gaps, fixed width so no id is a prefix of another. */
function ids(rng: Rng, n: number, format: (k: number) => string, start: number): string[] {
  const out: string[] = [];
  let k = start;
  for (let i = 0; i < n; i++) out.push(format((k += rng.int(1, 3))));
  return out;
}

function serialize(rng: Rng, value: unknown): string {
  return rng.chance(0.7) ? JSON.stringify(value, null, 2) : JSON.stringify(value);
}

interface JsonSpec {
  variant: string;
  toolName: string;
  toolArgs: Record<string, unknown>;
  question: string;
  query: string;
  /** Where the array sits in the output ([] = top level). */
  path: string[];
  idField: string;
  where: Record<string, string | number | boolean>;
  domains: Record<string, readonly (string | number | boolean)[]>;
  make: (rng: Rng, i: number, id: string) => Row;
  idFormat: (k: number) => string;
  idStart: number;
  /** The object around the array (none: the array is the output). */
  wrap?: (rows: Row[]) => Record<string, unknown>;
}

function buildJsonCase(rng: Rng, id: string, spec: JsonSpec): AnswerCase {
  const n = rowCount(rng);
  const rowIds = ids(rng, n, spec.idFormat, spec.idStart);
  const rows = plantRows(rng, n, (r, i) => spec.make(r, i, rowIds[i]), spec.where, spec.domains);
  const answerItems = rows.filter((row) => rowMatches(row, spec.where)).map((row) => String(getPath(row, spec.idField)));
  return {
    id,
    kind: 'json',
    variant: spec.variant,
    toolName: spec.toolName,
    toolArgs: spec.toolArgs,
    question: spec.question,
    output: serialize(rng, spec.wrap ? spec.wrap(rows) : rows),
    answerItems,
    itemKind: 'id',
    query: spec.query,
    criterion: { unit: 'json-rows', path: spec.path, idField: spec.idField, where: spec.where },
  };
}

const ticket = (rng: Rng, i: number, id: string): Row => ({
  id,
  title: rng.pick(TICKET_TITLES),
  status: rng.pick(TICKET_STATUS),
  priority: rng.pick(PRIORITIES),
  customer: `acct_${rng.int(100, 999)}`,
  assignee: rng.chance(0.8) ? rng.pick(NAMES) : null,
  created_at: isoAt(i * 37 + rng.int(0, 30)),
  tags: [rng.pick(TAGS), rng.pick(TAGS)],
});

export const jsonGenerators: Generator[] = [
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      variant: 'tickets: open p1',
      toolName: 'search_tickets',
      toolArgs: { query: 'status:any', limit: 500 },
      question: 'Which p1 tickets are open?',
      query: 'p1 open',
      path: ['tickets'],
      idField: 'id',
      where: { priority: 'p1', status: 'open' },
      domains: { priority: PRIORITIES, status: TICKET_STATUS },
      make: ticket,
      idFormat: (k) => `T-${k}`,
      idStart: 4000,
      wrap: (rows) => ({ tickets: rows, total: rows.length }),
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      variant: 'orders: refunded (top-level array)',
      toolName: 'list_orders',
      toolArgs: { since: '2026-11-01', limit: 400 },
      question: 'Show me the refunded orders',
      query: 'refunded',
      path: [],
      idField: 'order_id',
      where: { status: 'refunded' },
      domains: { status: ORDER_STATUS },
      make: (rng, i, orderId) => ({
        order_id: orderId,
        customer: `acct_${rng.int(100, 999)}`,
        status: rng.pick(ORDER_STATUS),
        amount: Math.round(rng.next() * 50000) / 100,
        currency: rng.pick(CURRENCIES),
        created_at: isoAt(i * 23 + rng.int(0, 20)),
      }),
      idFormat: (k) => `ORD-${k}`,
      idStart: 70000,
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      variant: 'users: suspended in DE',
      toolName: 'admin_list_users',
      toolArgs: { page: 1, per_page: 400 },
      question: 'Which users in DE are suspended?',
      query: 'DE suspended',
      path: ['data'],
      idField: 'id',
      where: { country: 'DE', status: 'suspended' },
      domains: { country: COUNTRIES, status: USER_STATUS },
      make: (rng, i, userId) => ({
        id: userId,
        email: `${rng.pick(NAMES)}.${rng.int(10, 99)}@example.com`,
        plan: rng.pick(PLANS),
        status: rng.pick(USER_STATUS),
        country: rng.pick(COUNTRIES),
        signed_up: isoAt(i * 90 + rng.int(0, 80)),
        seats: rng.int(1, 50),
      }),
      idFormat: (k) => `usr_${k}`,
      idStart: 10000,
      wrap: (rows) => ({ data: rows, page: 1, has_more: false }),
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      variant: 'deployments: failed in production',
      toolName: 'list_deployments',
      toolArgs: { days: 14 },
      question: 'Which production deployments failed?',
      query: 'production failed',
      path: ['deployments'],
      idField: 'id',
      where: { env: 'production', status: 'failed' },
      domains: { env: ENVS, status: DEPLOY_STATUS },
      make: (rng, i, depId) => ({
        id: depId,
        service: rng.pick(SERVICES),
        env: rng.pick(ENVS),
        version: `v${rng.int(1, 4)}.${rng.int(0, 30)}.${rng.int(0, 9)}`,
        status: rng.pick(DEPLOY_STATUS),
        commit: rng.hex(7),
        started_at: isoAt(i * 41 + rng.int(0, 40)),
        duration_s: rng.int(20, 900),
      }),
      idFormat: (k) => `dep_${k}`,
      idStart: 5000,
      wrap: (rows) => ({ deployments: rows }),
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      // The value is only in the tool call: the question says "that customer".
      variant: 'tickets: customer only in the tool arguments',
      toolName: 'search_tickets',
      toolArgs: { query: 'acct_562', fuzzy: true },
      question: "Which of these are actually that customer's tickets?",
      query: 'acct_562',
      path: ['results'],
      idField: 'id',
      where: { customer: 'acct_562' },
      domains: { customer: ['acct_561', 'acct_563', 'acct_265', 'acct_652'] },
      make: ticket,
      idFormat: (k) => `T-${k}`,
      idStart: 6000,
      wrap: (rows) => ({ results: rows, took_ms: 41 }),
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      variant: 'orders: disputed, platinum tier (nested field)',
      toolName: 'exec_command',
      toolArgs: { cmd: 'cat exports/orders-nov.json' },
      question: 'Which platinum customers have disputed orders?',
      query: 'platinum disputed',
      path: ['orders'],
      idField: 'id',
      where: { 'customer.tier': 'platinum', status: 'disputed' },
      domains: { 'customer.tier': TIERS, status: NESTED_STATUS },
      make: (rng, i, orderId) => ({
        id: orderId,
        customer: { id: `cus_${rng.hex(8)}`, tier: rng.pick(TIERS) },
        status: rng.pick(NESTED_STATUS),
        total_cents: rng.int(500, 90000),
        lines: rng.int(1, 9),
        created: isoAt(i * 29 + rng.int(0, 25)),
      }),
      idFormat: (k) => `ord_${k}`,
      idStart: 300000,
      wrap: (rows) => ({ orders: rows, next_cursor: null }),
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      variant: 'invoices: overdue in GBP',
      toolName: 'billing_invoices',
      toolArgs: { status: 'all', limit: 400 },
      question: 'Show me the overdue invoices billed in GBP',
      query: 'overdue GBP',
      path: ['invoices'],
      idField: 'number',
      where: { status: 'overdue', currency: 'GBP' },
      domains: { status: INVOICE_STATUS, currency: CURRENCIES },
      make: (rng, i, number) => ({
        number,
        account: `acct_${rng.int(100, 999)}`,
        status: rng.pick(INVOICE_STATUS),
        currency: rng.pick(CURRENCIES),
        amount_due: rng.int(900, 250000),
        due_date: isoAt(i * 60 + rng.int(0, 50)).slice(0, 10),
      }),
      idFormat: (k) => `INV-2026-${k}`,
      idStart: 10000,
      wrap: (rows) => ({ invoices: rows, count: rows.length }),
    }),
  (seed, id) =>
    buildJsonCase(new Rng(seed), id, {
      // The queue is only in the tool call; the question names the state.
      variant: 'jobs: stuck, queue only in the tool arguments',
      toolName: 'queue_jobs',
      toolArgs: { queue: 'webhooks', include_other_queues: true },
      question: 'Which jobs on this queue are stuck?',
      query: 'webhooks stuck',
      path: ['jobs'],
      idField: 'job_id',
      where: { queue: 'webhooks', state: 'stuck' },
      domains: { queue: QUEUES, state: JOB_STATE },
      make: (rng, i, jobId) => ({
        job_id: jobId,
        queue: rng.pick(QUEUES),
        state: rng.pick(JOB_STATE),
        attempts: rng.int(0, 8),
        enqueued_at: isoAt(i * 3 + rng.int(0, 2)),
        worker: `worker-${rng.int(1, 12)}`,
      }),
      idFormat: (k) => `job_${k}`,
      idStart: 880000,
      wrap: (rows) => ({ jobs: rows }),
    }),
];
