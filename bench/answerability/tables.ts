/**
 * Tabular text: CSV exports with a header (100–400 rows) and psql's aligned tables. The answer
 * items are whole lines: the rows whose columns hold the question's values.
 */
import { AnswerCase, Generator } from './types';
import { Rng, isoAt } from './prng';
import { Row, plantRows, rowMatches } from './rows';

const NAMES = ['ana', 'ben', 'chloe', 'dmitri', 'emma', 'farid', 'grace', 'hiro', 'ines', 'jonas', 'kemal', 'lena'];

interface TableSpec {
  variant: string;
  toolName: string;
  toolArgs: Record<string, unknown>;
  question: string;
  query: string;
  /** The table a psql variant selects from. */
  table: string;
  columns: string[];
  where: Record<string, string>;
  domains: Record<string, readonly string[]>;
  make: (rng: Rng, i: number) => Row;
}

function plant(rng: Rng, spec: TableSpec): { rows: Row[]; answers: boolean[] } {
  const rows = plantRows(rng, rng.int(100, 400), spec.make, spec.where, spec.domains);
  return { rows, answers: rows.map((row) => rowMatches(row, spec.where)) };
}

function buildCsvCase(rng: Rng, id: string, spec: TableSpec): AnswerCase {
  const { rows, answers } = plant(rng, spec);
  const lines = rows.map((row) => spec.columns.map((c) => String(row[c])).join(','));
  return {
    id,
    kind: 'table',
    variant: `csv: ${spec.variant}`,
    toolName: spec.toolName,
    toolArgs: spec.toolArgs,
    question: spec.question,
    output: [spec.columns.join(','), ...lines].join('\n') + '\n',
    answerItems: lines.filter((_, i) => answers[i]),
    itemKind: 'line',
    query: spec.query,
    criterion: { unit: 'csv-rows', where: spec.where },
  };
}

/** psql's aligned format: header centred, numbers right-aligned, text left-aligned, `(N rows)` after. */
function buildPsqlCase(rng: Rng, id: string, spec: TableSpec): AnswerCase {
  const { rows, answers } = plant(rng, spec);
  const cells = rows.map((row) => spec.columns.map((c) => row[c]));
  const widths = spec.columns.map((c, j) => Math.max(c.length, ...cells.map((r) => String(r[j]).length)));
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const last = spec.columns.length - 1;
  // psql pads every cell but the last, which it leaves ragged (no trailing blanks).
  const render = (values: string[], align: (v: string, w: number) => string) =>
    values.map((v, j) => ' ' + (j === last ? align(v, widths[j]).trimEnd() : align(v, widths[j]))).join(' |');
  const header = render(spec.columns, (v, w) => centre(v, w));
  const rule = widths.map((w) => '-'.repeat(w + 2)).join('+');
  const lines = cells.map((r) => render(r.map(String), (v, w) => (/^-?\d+(?:\.\d+)?$/.test(v) ? v.padStart(w) : v.padEnd(w))));
  return {
    id,
    kind: 'table',
    variant: `psql: ${spec.variant}`,
    toolName: 'exec_command',
    toolArgs: { cmd: `psql -d app -c "SELECT ${spec.columns.join(', ')} FROM ${spec.table} ORDER BY 1"` },
    question: spec.question,
    output: [header, rule, ...lines, `(${rows.length} rows)`].join('\n') + '\n',
    answerItems: lines.filter((_, i) => answers[i]),
    itemKind: 'line',
    query: spec.query,
    criterion: { unit: 'table-rows', where: spec.where },
  };
}

const ORDER_STATUS = ['paid', 'shipped', 'refunded', 'cancelled', 'pending'];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];
const USER_STATUS = ['active', 'suspended', 'invited'];
const INVOICE_STATUS = ['paid', 'open', 'overdue', 'void'];
const HOST_STATE = ['healthy', 'draining', 'degraded', 'unreachable'];

const orders: TableSpec = {
  variant: 'refunded orders',
  toolName: 'exec_command',
  toolArgs: { cmd: 'cat exports/orders.csv' },
  table: 'orders',
  question: 'Show me the refunded orders',
  query: 'refunded',
  columns: ['order_id', 'customer', 'status', 'amount', 'currency', 'created_at'],
  where: { status: 'refunded' },
  domains: { status: ORDER_STATUS },
  make: (rng, i) => ({
    order_id: 80000 + i * 3 + rng.int(0, 2),
    customer: `acct_${rng.int(100, 999)}`,
    status: rng.pick(ORDER_STATUS),
    amount: (rng.int(100, 99999) / 100).toFixed(2),
    currency: rng.pick(['USD', 'EUR']),
    created_at: isoAt(i * 31 + rng.int(0, 30)),
  }),
};

const users: TableSpec = {
  variant: 'suspended enterprise users',
  toolName: 'exec_command',
  toolArgs: { cmd: 'cat exports/users.csv' },
  table: 'users',
  question: 'Which enterprise users are suspended?',
  query: 'enterprise suspended',
  columns: ['id', 'email', 'plan', 'status', 'last_login'],
  where: { plan: 'enterprise', status: 'suspended' },
  domains: { plan: PLANS, status: USER_STATUS },
  make: (rng, i) => ({
    id: 10000 + i * 2 + rng.int(0, 1),
    email: `${rng.pick(NAMES)}${rng.int(1, 999)}@${rng.pick(['acme.io', 'example.com', 'corp.net'])}`,
    plan: rng.pick(PLANS),
    status: rng.pick(USER_STATUS),
    last_login: isoAt(i * 47 + rng.int(0, 40))
      .replace('T', ' ')
      .replace('Z', ''),
  }),
};

const invoices: TableSpec = {
  variant: 'overdue invoices in eu-west-1',
  toolName: 'run_sql',
  toolArgs: { sql: 'SELECT * FROM invoices', format: 'csv' },
  table: 'invoices',
  question: 'Which invoices from eu-west-1 are overdue?',
  query: 'eu-west-1 overdue',
  columns: ['invoice', 'account', 'region', 'status', 'amount_due'],
  where: { region: 'eu-west-1', status: 'overdue' },
  domains: { region: REGIONS, status: INVOICE_STATUS },
  make: (rng, i) => ({
    invoice: `INV-${20000 + i * 2 + rng.int(0, 1)}`,
    account: `acct_${rng.int(100, 999)}`,
    region: rng.pick(REGIONS),
    status: rng.pick(INVOICE_STATUS),
    amount_due: rng.int(100, 50000),
  }),
};

const hosts: TableSpec = {
  // The region is only in the tool call: "this region".
  variant: 'degraded hosts, region only in the tool arguments',
  toolName: 'fleet_hosts',
  toolArgs: { region: 'ap-south-1', format: 'csv' },
  table: 'hosts',
  question: 'Which hosts in this region are degraded?',
  query: 'ap-south-1 degraded',
  columns: ['host', 'region', 'state', 'cpu_pct', 'uptime_h'],
  where: { region: 'ap-south-1', state: 'degraded' },
  domains: { region: REGIONS, state: HOST_STATE },
  make: (rng, i) => ({
    host: `ip-10-${rng.int(0, 255)}-${rng.int(0, 255)}-${i}`,
    region: rng.pick(REGIONS),
    state: rng.pick(HOST_STATE),
    cpu_pct: rng.int(1, 99),
    uptime_h: rng.int(1, 4000),
  }),
};

export const tableGenerators: Generator[] = [
  (seed, id) => buildCsvCase(new Rng(seed), id, orders),
  (seed, id) => buildPsqlCase(new Rng(seed), id, users),
  (seed, id) => buildCsvCase(new Rng(seed), id, invoices),
  (seed, id) => buildPsqlCase(new Rng(seed), id, orders),
  (seed, id) => buildCsvCase(new Rng(seed), id, hosts),
  (seed, id) => buildPsqlCase(new Rng(seed), id, invoices),
  (seed, id) => buildCsvCase(new Rng(seed), id, users),
];
