/**
 * The spend log: one row per `/v1` request (SQLite or Postgres, db.ts), rejected ones included. It holds no message
 * content: ids, names, counts, codes and times only (`res.locals.headroom` never holds content).
 *
 * Times are epoch milliseconds, so an admin UI can draw each request's lifecycle:
 * received_at → headroom_started_at … headroom_ended_at (the pre-call step) →
 * upstream_started_at … upstream_first_byte_at … upstream_ended_at → ended_at.
 */
import type { Db, Migration, Param } from './db';
import type { HeadroomResult, HeadroomStatus } from 'express-headroom';
import { MAX_ALIAS_CHARS, MAX_ECHO_CHARS, MAX_MODEL_CHARS, MAX_PATH_CHARS, clip, clipNullable } from './limits';

export interface SpendEntry {
  request_id: string;
  key_token: string | null;
  key_alias: string | null;
  provider: string | null;
  method: string;
  path: string;
  model: string | null;
  stream: boolean;
  status: number;
  /** Gateway-level outcome when not a plain proxied answer: `unauthorized`, `model_not_allowed`, `route_not_found`, `invalid_request`, `upstream_unreachable`, `client_closed`, … */
  error: string | null;
  request_bytes: number | null;
  forwarded_bytes: number | null;
  latency_ms: number;
  received_at: number;
  ended_at: number;
  upstream_started_at: number | null;
  upstream_first_byte_at: number | null;
  upstream_ended_at: number | null;
  upstream_status: number | null;
  headroom_status: string | null;
  headroom_reason: string | null;
  tokens_before: number | null;
  tokens_after: number | null;
  tokens_saved: number | null;
  compression_ratio: number | null;
  compress_ms: number | null;
  headroom_started_at: number | null;
  headroom_ended_at: number | null;
  headroom_error_code: string | null;
  transforms: string[];
  /** `x-litellm-applied-guardrails` as sent to the client. */
  applied_guardrails: string | null;
  /** The whole `res.locals.headroom` record. */
  headroom: HeadroomResult | null;
}

const COLUMNS: Array<[keyof SpendEntry, string]> = [
  ['request_id', 'TEXT PRIMARY KEY'],
  ['key_token', 'TEXT'],
  ['key_alias', 'TEXT'],
  ['provider', 'TEXT'],
  ['method', 'TEXT NOT NULL'],
  ['path', 'TEXT NOT NULL'],
  ['model', 'TEXT'],
  ['stream', 'INTEGER NOT NULL'],
  ['status', 'INTEGER NOT NULL'],
  ['error', 'TEXT'],
  ['request_bytes', 'BIGINT'],
  ['forwarded_bytes', 'BIGINT'],
  ['latency_ms', 'DOUBLE PRECISION NOT NULL'],
  ['received_at', 'BIGINT NOT NULL'],
  ['ended_at', 'BIGINT NOT NULL'],
  ['upstream_started_at', 'BIGINT'],
  ['upstream_first_byte_at', 'BIGINT'],
  ['upstream_ended_at', 'BIGINT'],
  ['upstream_status', 'INTEGER'],
  ['headroom_status', 'TEXT'],
  ['headroom_reason', 'TEXT'],
  ['tokens_before', 'BIGINT'],
  ['tokens_after', 'BIGINT'],
  ['tokens_saved', 'BIGINT'],
  ['compression_ratio', 'DOUBLE PRECISION'],
  ['compress_ms', 'DOUBLE PRECISION'],
  ['headroom_started_at', 'BIGINT'],
  ['headroom_ended_at', 'BIGINT'],
  ['headroom_error_code', 'TEXT'],
  ['transforms', "TEXT NOT NULL DEFAULT '[]'"],
  ['applied_guardrails', 'TEXT'],
  ['headroom', 'TEXT'],
];

type Row = Omit<SpendEntry, 'stream' | 'transforms' | 'headroom'> & { stream: number; transforms: string; headroom: string | null };

export interface SpendQuery {
  limit?: number;
  key_alias?: string;
  request_id?: string;
}

/**
 * A row's `headroom_status`: the middleware's status, except `'audited'` for a request its key's
 * audit mode compressed only on paper (the original bytes went upstream).
 */
export type SpendHeadroomStatus = HeadroomStatus | 'audited';
/** `'none'`: rows the middleware never decided on (rejected before it: 401, 403, 404, 400). */
export type HeadroomStatusFilter = SpendHeadroomStatus | 'none';
export const HEADROOM_STATUS_FILTERS: readonly HeadroomStatusFilter[] = ['compressed', 'audited', 'skipped', 'bypassed', 'not_enabled', 'failed', 'none'];

/** One page of the log for the admin UI, newest first. */
export interface SpendPageQuery {
  key_alias?: string;
  headroom_status?: HeadroomStatusFilter;
  limit: number;
  offset: number;
}

/** Aggregates over the rows received since `since` (epoch ms). */
export interface SpendTotals {
  requests: number;
  /** Rows with headroom_status `compressed`. */
  compressed: number;
  /** Rows with headroom_status `audited`, and the tokens they would have saved (tokens_before − tokens_after). */
  audited: number;
  tokens_would_save: number;
  /** Rows with headroom_status `failed` (forwarded uncompressed under fail_open, 502 under fail_closed). */
  failed: number;
  tokens_saved: number;
  tokens_before: number;
  /** Rows where the compressor was called (the compress step has timestamps). */
  compress_calls: number;
  /** Nearest-rank percentiles of compress_ms over those rows; null when there are none. */
  compress_p50_ms: number | null;
  compress_p95_ms: number | null;
}

function fromRow(r: Row): SpendEntry {
  return {
    ...r,
    stream: r.stream === 1,
    transforms: JSON.parse(r.transforms),
    headroom: r.headroom ? JSON.parse(r.headroom) : null,
  };
}

const NAMES = COLUMNS.map(([n]) => n);
const SELECT = `SELECT ${NAMES.join(', ')} FROM spend_logs`;
/** Rows per INSERT: 32 columns each, under SQLite's 32,766 and Postgres's 65,535 parameters. */
const ROWS_PER_INSERT = 200;

/** The spend_logs table (migration 2 of the gateway's schema). Postgres gets a `seq` column for insertion order (SQLite has rowid). */
export const SPEND_MIGRATION: Migration = {
  version: 2,
  name: 'spend_logs',
  sql: (dialect) => `
    CREATE TABLE IF NOT EXISTS spend_logs (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')}${dialect === 'postgres' ? ', seq BIGSERIAL' : ''});
    CREATE INDEX IF NOT EXISTS spend_logs_received_at ON spend_logs (received_at);
    CREATE INDEX IF NOT EXISTS spend_logs_key_alias_received_at ON spend_logs (key_alias, received_at);
    CREATE INDEX IF NOT EXISTS spend_logs_headroom_status_received_at ON spend_logs (headroom_status, received_at)`,
};

/** An entry as the values of one row, the strings a client chooses capped. */
function values(e: SpendEntry): Param[] {
  const row: Record<string, unknown> = {
    ...e,
    model: clipNullable(e.model, MAX_MODEL_CHARS),
    path: clip(e.path, MAX_PATH_CHARS),
    key_alias: clipNullable(e.key_alias, MAX_ALIAS_CHARS),
    error: clipNullable(e.error, MAX_ECHO_CHARS),
    stream: e.stream ? 1 : 0,
    transforms: JSON.stringify(e.transforms),
    headroom: e.headroom ? JSON.stringify(e.headroom) : null,
  };
  return NAMES.map((n) => (row[n] ?? null) as Param);
}

export class SpendLog {
  /** Insertion order among rows received in the same millisecond. */
  private readonly order: string;

  constructor(private readonly db: Db) {
    this.order = db.dialect === 'postgres' ? 'seq' : 'rowid';
  }

  /**
   * Stores one row. The strings a client chooses (model, path) are capped here, at the storage
   * boundary, whoever the caller is: every row is read back by /ui pages and /spend/logs.
   */
  async insert(e: SpendEntry): Promise<void> {
    await this.insertMany([e]);
  }

  /** Stores rows in as few statements as it can; a row already stored (same request_id, a retried batch) is left as it is. */
  async insertMany(entries: readonly SpendEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
      const chunk = entries.slice(i, i + ROWS_PER_INSERT);
      const params: Param[] = [];
      const tuples = chunk.map((e) => {
        const start = params.length;
        params.push(...values(e));
        return `(${NAMES.map((_, j) => `$${start + j + 1}`).join(', ')})`;
      });
      await this.db.query(`INSERT INTO spend_logs (${NAMES.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (request_id) DO NOTHING`, params);
    }
  }

  /** Newest first. */
  async list(q: SpendQuery = {}): Promise<SpendEntry[]> {
    const where: string[] = [];
    const args: Param[] = [];
    if (q.key_alias !== undefined) {
      args.push(q.key_alias);
      where.push(`key_alias = $${args.length}`);
    }
    if (q.request_id !== undefined) {
      args.push(q.request_id);
      where.push(`request_id = $${args.length}`);
    }
    args.push(q.limit ?? 100);
    const sql = `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, ${this.order} DESC LIMIT $${args.length}`;
    return (await this.db.query<Row>(sql, args)).map(fromRow);
  }

  /** One row by id. */
  async get(requestId: string): Promise<SpendEntry | undefined> {
    const row = (await this.db.query<Row>(`${SELECT} WHERE request_id = $1`, [requestId]))[0];
    return row ? fromRow(row) : undefined;
  }

  /** A page of rows, newest first (LIMIT/OFFSET), and how many rows match the filters. */
  async page(q: SpendPageQuery): Promise<{ rows: SpendEntry[]; total: number }> {
    const where: string[] = [];
    const args: Param[] = [];
    if (q.key_alias !== undefined) {
      args.push(q.key_alias);
      where.push(`key_alias = $${args.length}`);
    }
    if (q.headroom_status === 'none') {
      where.push('headroom_status IS NULL');
    } else if (q.headroom_status !== undefined) {
      args.push(q.headroom_status);
      where.push(`headroom_status = $${args.length}`);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM spend_logs ${clause}`, args))[0].n);
    const n = args.length;
    const rows = await this.db.query<Row>(`${SELECT} ${clause} ORDER BY received_at DESC, ${this.order} DESC LIMIT $${n + 1} OFFSET $${n + 2}`, [...args, q.limit, q.offset]);
    return { rows: rows.map(fromRow), total };
  }

  /** Key aliases that appear in the log, sorted. */
  async aliases(): Promise<string[]> {
    const rows = await this.db.query<{ key_alias: string }>('SELECT DISTINCT key_alias FROM spend_logs WHERE key_alias IS NOT NULL ORDER BY key_alias');
    return rows.map((r) => r.key_alias);
  }

  /** Requests, share compressed, tokens saved and compress-step percentiles since `since` (epoch ms), optionally for one key alias. */
  async totals(q: { since: number; key_alias?: string }): Promise<SpendTotals> {
    const alias = q.key_alias !== undefined ? ' AND key_alias = $2' : '';
    const params: Param[] = [q.since, ...(q.key_alias !== undefined ? [q.key_alias] : [])];
    const [agg] = await this.db.query<{
      requests: number;
      compressed: number | null;
      audited: number | null;
      tokens_would_save: number | null;
      failed: number | null;
      tokens_saved: number | null;
      tokens_before: number | null;
    }>(
      `SELECT COUNT(*) AS requests,
              SUM(CASE WHEN headroom_status = 'compressed' THEN 1 ELSE 0 END) AS compressed,
              SUM(CASE WHEN headroom_status = 'audited' THEN 1 ELSE 0 END) AS audited,
              SUM(CASE WHEN headroom_status = 'audited' THEN tokens_before - tokens_after ELSE 0 END) AS tokens_would_save,
              SUM(CASE WHEN headroom_status = 'failed' THEN 1 ELSE 0 END) AS failed,
              SUM(tokens_saved) AS tokens_saved,
              SUM(tokens_before) AS tokens_before
         FROM spend_logs WHERE received_at >= $1${alias}`,
      params,
    );
    const timed = `FROM spend_logs WHERE received_at >= $1${alias} AND headroom_started_at IS NOT NULL AND compress_ms IS NOT NULL`;
    const calls = Number((await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n ${timed}`, params))[0].n);
    // Nearest rank: the ceil(p·n)-th smallest value.
    const percentile = async (p: number) => {
      if (calls === 0) return null;
      const offset = Math.max(0, Math.ceil(p * calls) - 1);
      const rows = await this.db.query<{ compress_ms: number }>(`SELECT compress_ms ${timed} ORDER BY compress_ms LIMIT 1 OFFSET $${params.length + 1}`, [...params, offset]);
      return rows[0].compress_ms;
    };
    return {
      requests: Number(agg.requests),
      compressed: Number(agg.compressed ?? 0),
      audited: Number(agg.audited ?? 0),
      tokens_would_save: Number(agg.tokens_would_save ?? 0),
      failed: Number(agg.failed ?? 0),
      tokens_saved: Number(agg.tokens_saved ?? 0),
      tokens_before: Number(agg.tokens_before ?? 0),
      compress_calls: calls,
      compress_p50_ms: await percentile(0.5),
      compress_p95_ms: await percentile(0.95),
    };
  }
}

/**
 * The headroom part of a spend entry, from `res.locals.headroom` (absent when the middleware did not
 * decide). An audited request (`headroom.mode: 'audit'`) that would have been compressed is
 * `headroom_status: 'audited'` with `tokens_saved` null, since nothing was saved: sums of
 * tokens_saved (the totals, the metrics, anyone's dashboard) count real savings only. Its
 * tokens_before and tokens_after are what the compressor measured, so the would-be saving is their
 * difference (also `headroom.tokensSaved`).
 */
export function headroomColumns(h: HeadroomResult | undefined) {
  const audited = h?.mode === 'audit' && h.status === 'compressed';
  return {
    headroom_status: audited ? 'audited' : (h?.status ?? null),
    headroom_reason: h?.reason ?? null,
    tokens_before: h?.tokensBefore ?? null,
    tokens_after: h?.tokensAfter ?? null,
    tokens_saved: audited ? null : (h?.tokensSaved ?? null),
    compression_ratio: h?.compressionRatio ?? null,
    compress_ms: h ? h.durationMs : null,
    headroom_started_at: h?.startedAt ?? null,
    headroom_ended_at: h?.endedAt ?? null,
    headroom_error_code: h?.error?.code ?? null,
    transforms: h?.transformsApplied ?? [],
    headroom: h ?? null,
  };
}
