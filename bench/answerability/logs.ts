/**
 * Service logs, 300–2,000 lines: INFO/DEBUG noise with varying numbers (what a log folder templates
 * away), some WARN/ERROR lines with error codes, request ids and durations. The answer items are
 * whole lines; every answer line carries the question's terms and no other line does.
 */
import { AnswerCase, Generator } from './types';
import { Rng, logTime } from './prng';

const SERVICES = ['checkout', 'billing', 'search', 'auth', 'inventory'];
const PATHS = ['/api/cart', '/api/checkout', '/api/orders', '/api/search', '/api/login', '/healthz'];
const UPSTREAMS = ['payments-api', 'ledger', 'redis', 'postgres', 'kafka'];
const ERR_CODES = ['ERR_CONN_RESET', 'ERR_TIMEOUT', 'ERR_POOL_EXHAUSTED', 'ERR_TLS_HANDSHAKE', 'ERR_RATE_LIMITED'];
const WORKERS = ['mailer', 'exporter', 'indexer', 'reconciler', 'inventory'];

const reqId = (rng: Rng) => `req_${rng.hex(10)}`;

/** One line of background: never an answer line (the caller checks the terms anyway). */
function noiseLine(rng: Rng, t: string, service: string): string {
  const r = rng.next();
  const id = reqId(rng);
  if (r < 0.45) return `${t} INFO  [${service}] ${id} ${rng.pick(['GET', 'POST'])} ${rng.pick(PATHS)} status=200 duration=${rng.int(3, 480)}ms`;
  if (r < 0.7) return `${t} DEBUG [${service}] ${id} cache ${rng.pick(['hit', 'miss'])} key=${rng.pick(['cart', 'price', 'user', 'session'])}:${rng.int(1000, 99999)}`;
  if (r < 0.82) return `${t} INFO  [${service}] worker=${rng.pick(WORKERS)} batch=${rng.int(1, 9999)} processed=${rng.int(10, 500)} in ${rng.int(20, 2000)}ms`;
  if (r < 0.9) return `${t} DEBUG [${service}] pool active=${rng.int(1, 40)} idle=${rng.int(0, 20)} waiting=${rng.int(0, 5)}`;
  if (r < 0.95) return `${t} WARN  [${service}] ${id} slow query table=${rng.pick(['orders', 'users', 'events'])} duration=${rng.int(800, 4000)}ms`;
  return `${t} ERROR [${service}] ${id} upstream=${rng.pick(UPSTREAMS)} code=${rng.pick(ERR_CODES)} after ${rng.int(100, 30000)}ms`;
}

interface LogSpec {
  variant: string;
  toolName: string;
  toolArgs: Record<string, unknown>;
  question: string;
  query: string;
  /** Every answer line contains all of these; no other line contains all of them. */
  terms: string[];
  /** An answer line for timestamp `t`. */
  answerLine: (rng: Rng, t: string, service: string) => string;
}

function buildLogCase(rng: Rng, id: string, service: string, spec: LogSpec): AnswerCase {
  const n = rng.int(300, 2000);
  // Fewer answer lines than rows in a JSON answer: an incident is a handful of lines in a long tail.
  const answerAt = new Set(rng.indexes(n, Math.max(2, Math.round(n * (0.005 + rng.next() * 0.04)))));
  const lines: string[] = [];
  const answerItems: string[] = [];
  let ms = rng.int(0, 3_600_000);
  for (let i = 0; i < n; i++) {
    const t = logTime((ms += rng.int(5, 900)));
    if (answerAt.has(i)) {
      const line = spec.answerLine(rng, t, service);
      lines.push(line);
      answerItems.push(line);
      continue;
    }
    let line = noiseLine(rng, t, service);
    // Redraw the rare noise line that happens to carry every term (e.g. the same error code).
    while (spec.terms.every((term) => line.includes(term))) line = noiseLine(rng, t, service);
    lines.push(line);
  }
  return {
    id,
    kind: 'log',
    variant: spec.variant,
    toolName: spec.toolName,
    toolArgs: spec.toolArgs,
    question: spec.question,
    output: lines.join('\n') + '\n',
    answerItems,
    itemKind: 'line',
    query: spec.query,
    criterion: { unit: 'lines', all: spec.terms },
  };
}

export const logGenerators: Generator[] = [
  (seed, id) => {
    const rng = new Rng(seed);
    const service = rng.pick(SERVICES);
    return buildLogCase(rng, id, service, {
      variant: 'error code named in the question',
      toolName: 'exec_command',
      toolArgs: { cmd: `kubectl logs deploy/${service} --since=2h` },
      question: 'Why did we get ERR_CONN_RESET?',
      query: 'ERR_CONN_RESET',
      terms: ['ERR_CONN_RESET'],
      answerLine: (r, t, s) => `${t} ERROR [${s}] ${reqId(r)} upstream=${r.pick(UPSTREAMS)} code=ERR_CONN_RESET after ${r.int(100, 30000)}ms`,
    });
  },
  (seed, id) => {
    const rng = new Rng(seed);
    const service = rng.pick(SERVICES);
    const req = reqId(rng);
    return buildLogCase(rng, id, service, {
      variant: 'one request id named in the question',
      toolName: 'read_logs',
      toolArgs: { service, since: '1h' },
      question: `What happened to request ${req}?`,
      query: req,
      terms: [req],
      answerLine: (r, t, s) =>
        r.pick([
          `${t} INFO  [${s}] ${req} POST /api/checkout started user=u_${r.int(100, 999)}`,
          `${t} DEBUG [${s}] ${req} cache miss key=price:${r.int(1000, 99999)}`,
          `${t} WARN  [${s}] ${req} retrying upstream=payments-api attempt=${r.int(1, 4)}`,
          `${t} ERROR [${s}] ${req} upstream=payments-api code=ERR_TIMEOUT after ${r.int(5000, 30000)}ms`,
        ]),
    });
  },
  (seed, id) => {
    const rng = new Rng(seed);
    const service = rng.pick(SERVICES);
    const req = reqId(rng);
    return buildLogCase(rng, id, service, {
      // The request id is only in the tool call.
      variant: 'request id only in the tool arguments',
      toolName: 'read_logs',
      toolArgs: { service, request_id: req, context_lines: 'all' },
      question: 'What went wrong with that request?',
      query: req,
      terms: [req],
      answerLine: (r, t, s) =>
        r.pick([
          `${t} INFO  [${s}] ${req} GET /api/orders started`,
          `${t} WARN  [${s}] ${req} retrying upstream=ledger attempt=${r.int(1, 4)}`,
          `${t} ERROR [${s}] ${req} upstream=ledger code=ERR_POOL_EXHAUSTED after ${r.int(100, 9000)}ms`,
        ]),
    });
  },
  (seed, id) => {
    const rng = new Rng(seed);
    const service = rng.pick(SERVICES);
    return buildLogCase(rng, id, service, {
      variant: 'status and path named in the question',
      toolName: 'exec_command',
      toolArgs: { cmd: `journalctl -u ${service} --since today` },
      question: 'Were there any status=503 responses on /api/cart?',
      query: 'status=503 /api/cart',
      terms: ['status=503', '/api/cart'],
      answerLine: (r, t, s) => `${t} WARN  [${s}] ${reqId(r)} ${r.pick(['GET', 'POST'])} /api/cart status=503 duration=${r.int(1, 60)}ms`,
    });
  },
  (seed, id) => {
    const rng = new Rng(seed);
    const service = rng.pick(SERVICES);
    return buildLogCase(rng, id, service, {
      variant: 'worker and level named in the question',
      toolName: 'exec_command',
      toolArgs: { cmd: `tail -n 2000 /var/log/${service}/app.log` },
      question: 'Show me the WARN lines from the reconciler worker',
      query: 'WARN reconciler',
      terms: ['WARN', 'worker=reconciler'],
      answerLine: (r, t, s) => `${t} WARN  [${s}] worker=reconciler batch=${r.int(1, 9999)} mismatch ledger_total=${r.int(1000, 99999)} expected=${r.int(1000, 99999)}`,
    });
  },
  (seed, id) => {
    const rng = new Rng(seed);
    const service = rng.pick(SERVICES);
    return buildLogCase(rng, id, service, {
      // The code is only in the tool call (a grep the model already ran narrowed nothing).
      variant: 'error code only in the tool arguments',
      toolName: 'search_logs',
      toolArgs: { service, text: 'ERR_TLS_HANDSHAKE', mode: 'context' },
      question: 'How often is this happening, and against which upstream?',
      query: 'ERR_TLS_HANDSHAKE',
      terms: ['ERR_TLS_HANDSHAKE'],
      answerLine: (r, t, s) => `${t} ERROR [${s}] ${reqId(r)} upstream=${r.pick(UPSTREAMS)} code=ERR_TLS_HANDSHAKE after ${r.int(100, 3000)}ms`,
    });
  },
];
