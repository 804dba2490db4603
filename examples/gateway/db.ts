/**
 * One small async database interface over SQLite (better-sqlite3, the default) and Postgres (`pg`,
 * when DATABASE_URL is set), so keys.ts and spend.ts write their SQL once. SQL is written with
 * Postgres placeholders (`$1`, `$2`, …); the SQLite adapter turns them into named ones (`@p1`, `@p2`)
 * bound from the same array.
 *
 * The schema is versioned (`schema_migrations`) and migrated at start, safely when several
 * instances start at once: Postgres takes `pg_advisory_xact_lock` inside the migration transaction,
 * SQLite runs it under `BEGIN IMMEDIATE` (one writer at a time).
 */
import Database from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';

export type Param = string | number | null;
export type Dialect = 'sqlite' | 'postgres';

export interface Queryable {
  readonly dialect: Dialect;
  /** Rows of a statement (`$1…` placeholders). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly Param[]): Promise<T[]>;
  /** Statements without parameters or results (DDL), several separated by `;`. */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  /** `fn` on one connection inside BEGIN … COMMIT (ROLLBACK when it throws). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** What the start-up line says: `sqlite ./gateway.db`, `postgres host:port/db`. */
  readonly description: string;
}

/** `$1` → `@p1` (the SQL here never puts `$` in a string literal). */
export function toSqlite(sql: string): string {
  return sql.replace(/\$(\d+)/g, '@p$1');
}

/** Serialises transactions on the one SQLite connection: a statement from outside waits until the transaction ends. */
class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private lock: Promise<void> = Promise.resolve();
  private inTx = false;
  readonly description: string;

  constructor(path: string) {
    this.db = new Database(path);
    this.description = `sqlite ${path}`;
    // WAL: a reader of the file (/ui, a sqlite3 shell) does not block the spend-log writes.
    if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
    // Wait for a lock held by another connection instead of failing the write at once.
    this.db.pragma('busy_timeout = 5000');
  }

  private run<T>(sql: string, params: readonly Param[]): T[] {
    const stmt = this.db.prepare(toSqlite(sql));
    const args = params.length ? [Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]))] : [];
    if (stmt.reader) return stmt.all(...args) as T[];
    stmt.run(...args);
    return [];
  }

  async query<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    while (this.inTx) await this.lock;
    return this.run<T>(sql, params);
  }

  async exec(sql: string): Promise<void> {
    while (this.inTx) await this.lock;
    this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    while (this.inTx) await this.lock;
    let release!: () => void;
    this.lock = new Promise((r) => (release = r));
    this.inTx = true;
    const tx: Queryable = {
      dialect: 'sqlite',
      query: async <R>(sql: string, params: readonly Param[] = []) => this.run<R>(sql, params),
      exec: async (sql: string) => void this.db.exec(sql),
    };
    try {
      // IMMEDIATE: the write lock is taken now, so two processes migrating the same file run one after the other.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(tx);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.inTx = false;
      release();
    }
  }

  async close(): Promise<void> {
    while (this.inTx) await this.lock;
    if (this.db.open) this.db.close();
  }
}

class PgQueryable implements Queryable {
  readonly dialect = 'postgres' as const;
  constructor(protected readonly client: Pool | PoolClient) {}
  async query<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    const r = await this.client.query(sql, params as Param[]);
    return r.rows as T[];
  }
  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }
}

class PgDb extends PgQueryable implements Db {
  readonly description: string;
  constructor(
    private readonly pool: Pool,
    url: string,
  ) {
    super(pool);
    const u = new URL(url);
    this.description = `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`;
  }
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgQueryable(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    } finally {
      client.release();
    }
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Postgres `int8` (COUNT, BIGINT columns) and `numeric` (SUM) as JS numbers: epoch ms and counts fit in a double. */
function pgTypes(pg: typeof import('pg')) {
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === 20 || oid === 1700) return (v: string) => (v === null ? null : Number(v));
      return pg.types.getTypeParser(oid, format as 'text');
    }) as typeof pg.types.getTypeParser,
  };
}

export interface OpenDbOptions {
  /** `postgres://…`: wins over `path`. */
  url?: string;
  /** SQLite file; `':memory:'` for a throwaway one. */
  path: string;
  /** Postgres pool size. Default 10. */
  poolSize?: number;
}

export function openDb(opts: OpenDbOptions): Db {
  if (opts.url) {
    // Loaded only when used: `pg` is the example gateway's dependency, not every user's.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pg = require('pg') as typeof import('pg');
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // A Postgres that went away must fail a query quickly (the spend log buffers), not hang it.
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30_000,
      types: pgTypes(pg),
    });
    // An idle client losing its connection (Postgres restarted) emits here; the next query reconnects.
    pool.on('error', () => {});
    return new PgDb(pool, opts.url);
  }
  return new SqliteDb(opts.path);
}

export interface Migration {
  version: number;
  name: string;
  sql(dialect: Dialect): string;
}

/** Applies the migrations not yet recorded in `schema_migrations`, in version order, in one locked transaction. */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<number[]> {
  return db.transaction(async (tx) => {
    // Any fixed number: every instance of this gateway takes the same lock.
    if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(7158224001)');
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql(tx.dialect));
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    }
    return applied;
  });
}
