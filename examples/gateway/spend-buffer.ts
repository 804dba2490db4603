/**
 * The spend log's writer, off the request path: a finished request adds its row to a buffer and
 * goes on; the buffer is written every `flushMs` or as soon as it holds `batchRows` rows, in one
 * statement per batch. When the store fails (Postgres restarting, SQLite locked), the rows stay
 * buffered and are retried on the next tick, so nothing is lost while the store is away — up to
 * `maxRows` (default 10,000) rows. Past that bound a new row is dropped, logged and counted
 * (`gateway_spend_rows_dropped_total`): requests go through whatever the store does.
 */
import type { Logger } from 'express-headroom';
import type { SpendEntry, SpendLog } from './spend';

export interface SpendBufferOptions {
  /** Write at least this often. Default 50 ms. */
  flushMs?: number;
  /** Write at once when this many rows wait. Default 200. */
  batchRows?: number;
  /** Rows kept while the store is unreachable. Default 10,000. */
  maxRows?: number;
  logger: Logger;
  /** Called with the number of rows dropped past `maxRows`. */
  onDrop?(n: number): void;
  /** Called after every flush attempt with the rows still waiting. */
  onBuffered?(n: number): void;
}

export const DEFAULT_SPEND_BUFFER_ROWS = 10_000;

export class SpendBuffer {
  private rows: SpendEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failing = false;
  private dropped = 0;
  private readonly flushMs: number;
  private readonly batchRows: number;
  readonly maxRows: number;

  constructor(
    private readonly spend: SpendLog,
    private readonly opts: SpendBufferOptions,
  ) {
    this.flushMs = opts.flushMs ?? 50;
    this.batchRows = opts.batchRows ?? 200;
    this.maxRows = opts.maxRows ?? DEFAULT_SPEND_BUFFER_ROWS;
  }

  /** Rows waiting to be written. */
  get size(): number {
    return this.rows.length;
  }

  /** Queues one row; never throws, never waits. */
  add(entry: SpendEntry): void {
    if (this.rows.length >= this.maxRows) {
      this.dropped++;
      this.opts.onDrop?.(1);
      // One line per 1,000 drops (and the first): a long outage must not flood the log.
      if (this.dropped % 1000 === 1) {
        this.opts.logger.error(
          { request_id: entry.request_id, buffered: this.rows.length, dropped_total: this.dropped },
          `spend log buffer full (${this.maxRows} rows): row dropped`,
        );
      }
      return;
    }
    this.rows.push(entry);
    if (this.rows.length >= this.batchRows && !this.failing) void this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    // While the store is failing, retry less often (a second) instead of every tick.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.flush();
      },
      this.failing ? Math.max(this.flushMs, 1000) : this.flushMs,
    );
    this.timer.unref();
  }

  /** Writes what is buffered now; resolves when done (rows that could not be written stay buffered). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.rows.length ? this.flush() : undefined));
    if (this.rows.length === 0) return Promise.resolve();
    this.flushing = this.writeAll().finally(() => {
      this.flushing = undefined;
      this.opts.onBuffered?.(this.rows.length);
      if (this.rows.length) this.schedule();
    });
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.rows.length) {
      const batch = this.rows.slice(0, this.batchRows);
      try {
        await this.spend.insertMany(batch);
      } catch (err) {
        if (!this.failing) this.opts.logger.error({ err: (err as Error)?.message, buffered: this.rows.length }, 'spend log write failed; rows kept and retried');
        this.failing = true;
        return;
      }
      if (this.failing) this.opts.logger.warn({ buffered: this.rows.length }, 'spend log store is back; writing buffered rows');
      this.failing = false;
      this.rows.splice(0, batch.length);
    }
  }

  /**
   * Flushes until empty or until `timeoutMs` passes (shutdown). Returns the rows left unwritten.
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (this.rows.length && Date.now() < deadline) {
      await this.flush();
      if (this.rows.length) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.rows.length;
  }
}
