/**
 * The spend log: one SQLite row per `/v1` request, rejected ones included. It holds no message
 * content: ids, names, counts, codes and times only (`res.locals.headroom` never holds content).
 *
 * Times are epoch milliseconds, so an admin UI can draw each request's lifecycle:
 * received_at → headroom_started_at … headroom_ended_at (the pre-call step) →
 * upstream_started_at … upstream_first_byte_at … upstream_ended_at → ended_at.
 */
import type { Database } from 'better-sqlite3';
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
  ['request_bytes', 'INTEGER'],
  ['forwarded_bytes', 'INTEGER'],
  ['latency_ms', 'REAL NOT NULL'],
  ['received_at', 'INTEGER NOT NULL'],
  ['ended_at', 'INTEGER NOT NULL'],
  ['upstream_started_at', 'INTEGER'],
  ['upstream_first_byte_at', 'INTEGER'],
  ['upstream_ended_at', 'INTEGER'],
  ['upstream_status', 'INTEGER'],
  ['headroom_status', 'TEXT'],
  ['headroom_reason', 'TEXT'],
  ['tokens_before', 'INTEGER'],
  ['tokens_after', 'INTEGER'],
  ['tokens_saved', 'INTEGER'],
  ['compression_ratio', 'REAL'],
  ['compress_ms', 'REAL'],
  ['headroom_started_at', 'INTEGER'],
  ['headroom_ended_at', 'INTEGER'],
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

/** `'none'`: rows the middleware never decided on (rejected before it: 401, 403, 404, 400). */
export type HeadroomStatusFilter = HeadroomStatus | 'none';
export const HEADROOM_STATUS_FILTERS: readonly HeadroomStatusFilter[] = ['compressed', 'skipped', 'bypassed', 'not_enabled', 'failed', 'none'];

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

export class SpendLog {
  private readonly insertStmt;

  constructor(private readonly db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS spend_logs (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`);
    db.exec('CREATE INDEX IF NOT EXISTS spend_logs_received_at ON spend_logs (received_at)');
    // The admin UI's filters (by key alias, by headroom status), each newest first.
    db.exec('CREATE INDEX IF NOT EXISTS spend_logs_key_alias_received_at ON spend_logs (key_alias, received_at)');
    db.exec('CREATE INDEX IF NOT EXISTS spend_logs_headroom_status_received_at ON spend_logs (headroom_status, received_at)');
    this.insertStmt = db.prepare(`INSERT INTO spend_logs (${COLUMNS.map(([n]) => n).join(', ')}) VALUES (${COLUMNS.map(([n]) => `@${n}`).join(', ')})`);
  }

  /**
   * Stores one row. The strings a client chooses (model, path) are capped here, at the storage
   * boundary, whoever the caller is: every row is read back by /ui pages and /spend/logs.
   */
  insert(e: SpendEntry): void {
    this.insertStmt.run({
      ...e,
      model: clipNullable(e.model, MAX_MODEL_CHARS),
      path: clip(e.path, MAX_PATH_CHARS),
      key_alias: clipNullable(e.key_alias, MAX_ALIAS_CHARS),
      error: clipNullable(e.error, MAX_ECHO_CHARS),
      stream: e.stream ? 1 : 0,
      transforms: JSON.stringify(e.transforms),
      headroom: e.headroom ? JSON.stringify(e.headroom) : null,
    });
  }

  /** Newest first. */
  list(q: SpendQuery = {}): SpendEntry[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.key_alias !== undefined) {
      where.push('key_alias = ?');
      args.push(q.key_alias);
    }
    if (q.request_id !== undefined) {
      where.push('request_id = ?');
      args.push(q.request_id);
    }
    const sql = `SELECT * FROM spend_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, rowid DESC LIMIT ?`;
    const rows = this.db.prepare<Array<string | number>, Row>(sql).all(...args, q.limit ?? 100);
    return rows.map(fromRow);
  }

  /** One row by id. */
  get(requestId: string): SpendEntry | undefined {
    const row = this.db.prepare<[string], Row>('SELECT * FROM spend_logs WHERE request_id = ?').get(requestId);
    return row ? fromRow(row) : undefined;
  }

  /** A page of rows, newest first (LIMIT/OFFSET), and how many rows match the filters. */
  page(q: SpendPageQuery): { rows: SpendEntry[]; total: number } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.key_alias !== undefined) {
      where.push('key_alias = ?');
      args.push(q.key_alias);
    }
    if (q.headroom_status === 'none') {
      where.push('headroom_status IS NULL');
    } else if (q.headroom_status !== undefined) {
      where.push('headroom_status = ?');
      args.push(q.headroom_status);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = this.db.prepare<Array<string | number>, { n: number }>(`SELECT COUNT(*) AS n FROM spend_logs ${clause}`).get(...args)!.n;
    const rows = this.db
      .prepare<Array<string | number>, Row>(`SELECT * FROM spend_logs ${clause} ORDER BY received_at DESC, rowid DESC LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset);
    return { rows: rows.map(fromRow), total };
  }

  /** Key aliases that appear in the log, sorted. */
  aliases(): string[] {
    return this.db
      .prepare<[], { key_alias: string }>('SELECT DISTINCT key_alias FROM spend_logs WHERE key_alias IS NOT NULL ORDER BY key_alias')
      .all()
      .map((r) => r.key_alias);
  }

  /** Requests, share compressed, tokens saved and compress-step percentiles since `since` (epoch ms), optionally for one key alias. */
  totals(q: { since: number; key_alias?: string }): SpendTotals {
    const alias = q.key_alias !== undefined ? ' AND key_alias = @key_alias' : '';
    const params = { since: q.since, ...(q.key_alias !== undefined ? { key_alias: q.key_alias } : {}) };
    const agg = this.db
      .prepare<[object], { requests: number; compressed: number | null; failed: number | null; tokens_saved: number | null; tokens_before: number | null }>(
        `SELECT COUNT(*) AS requests,
                SUM(headroom_status = 'compressed') AS compressed,
                SUM(headroom_status = 'failed') AS failed,
                SUM(tokens_saved) AS tokens_saved,
                SUM(tokens_before) AS tokens_before
           FROM spend_logs WHERE received_at >= @since${alias}`,
      )
      .get(params)!;
    const timed = `FROM spend_logs WHERE received_at >= @since${alias} AND headroom_started_at IS NOT NULL AND compress_ms IS NOT NULL`;
    const calls = this.db.prepare<[object], { n: number }>(`SELECT COUNT(*) AS n ${timed}`).get(params)!.n;
    const nth = this.db.prepare<[object], { compress_ms: number }>(`SELECT compress_ms ${timed} ORDER BY compress_ms LIMIT 1 OFFSET @offset`);
    // Nearest rank: the ceil(p·n)-th smallest value.
    const percentile = (p: number) => (calls === 0 ? null : nth.get({ ...params, offset: Math.max(0, Math.ceil(p * calls) - 1) })!.compress_ms);
    return {
      requests: agg.requests,
      compressed: agg.compressed ?? 0,
      failed: agg.failed ?? 0,
      tokens_saved: agg.tokens_saved ?? 0,
      tokens_before: agg.tokens_before ?? 0,
      compress_calls: calls,
      compress_p50_ms: percentile(0.5),
      compress_p95_ms: percentile(0.95),
    };
  }
}

/** The headroom part of a spend entry, from `res.locals.headroom` (absent when the middleware did not decide). */
export function headroomColumns(h: HeadroomResult | undefined) {
  return {
    headroom_status: h?.status ?? null,
    headroom_reason: h?.reason ?? null,
    tokens_before: h?.tokensBefore ?? null,
    tokens_after: h?.tokensAfter ?? null,
    tokens_saved: h?.tokensSaved ?? null,
    compression_ratio: h?.compressionRatio ?? null,
    compress_ms: h ? h.durationMs : null,
    headroom_started_at: h?.startedAt ?? null,
    headroom_ended_at: h?.endedAt ?? null,
    headroom_error_code: h?.error?.code ?? null,
    transforms: h?.transformsApplied ?? [],
    headroom: h ?? null,
  };
}
