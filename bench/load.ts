/**
 * The load generator, run as its own process so its CPU is not the gateway's. Closed loop: a fixed
 * number of keep-alive connections (one undici Client each, no pipelining), each sending its next
 * request as soon as the previous response has been read, for a fixed duration. Requests in flight
 * at the deadline are completed and counted; throughput is completed requests over the time until
 * the last one finished, so Little's law (connections ÷ throughput ≈ mean latency) holds when the
 * generator itself keeps every connection busy, and visibly fails when it does not.
 */
import { Client } from 'undici';
import { buildBody, writeCounter, type BodyName, type BuiltBody, type Variant } from './bodies';
import { sendReady, serveParent } from './procs';

export interface RunSpec {
  url: string;
  body: BodyName;
  variant: Variant;
  connections: number;
  durationMs: number;
}

export interface LoadResult {
  completed: number;
  ok: number;
  /** Non-200 statuses seen, by status code. */
  statuses: Record<string, number>;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** The load generator's own CPU time over the cell, µs: near 100% of one core means it, not the gateway, may be the limit. */
  cpuUs: number;
  /** Every completed request's latency, ms (rounded to µs). Bounded by MAX_SAMPLES. */
  latencies: number[];
}

/** Bounds one cell's bookkeeping: far more than 10 connections × 60 s can complete at these body sizes. */
const MAX_SAMPLES = 2_000_000;
/** Past this many transport errors a cell is abandoned rather than spun on. */
const MAX_ERRORS = 200;

const built = new Map<string, BuiltBody>();
function bodyFor(name: BodyName | 'prime', variant: Variant): BuiltBody {
  const key = `${name}/${variant}`;
  let b = built.get(key);
  if (!b) {
    b = buildBody(name, variant);
    built.set(key, b);
  }
  return b;
}

// Unique for the life of this process, which outlives every gateway: (e) never repeats a tool output.
let seq = 0;

export async function runLoad(spec: RunSpec): Promise<LoadResult> {
  const body = bodyFor(spec.body, spec.variant);
  // Grown by doubling, so a long soak does not need a guess of its request count up front.
  let store = new Float64Array(Math.min(MAX_SAMPLES, 1 << 16));
  let n = 0;
  const statuses: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const clients = Array.from({ length: spec.connections }, () => new Client(spec.url, { pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 }));

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + spec.durationMs;
  const loop = async (client: Client) => {
    // Each connection patches its own copy: a shared buffer could change under a write in progress.
    const bytes = body.counterOffset === undefined ? body.bytes : Buffer.from(body.bytes);
    while (performance.now() < deadline && n < MAX_SAMPLES && errors < MAX_ERRORS) {
      if (body.counterOffset !== undefined) writeCounter(bytes, body.counterOffset, ++seq);
      const t0 = performance.now();
      try {
        const res = await client.request({ path: body.path, method: 'POST', headers: body.headers, body: bytes });
        await res.body.arrayBuffer();
        const ms = performance.now() - t0;
        if (n === store.length) {
          const grown = new Float64Array(Math.min(MAX_SAMPLES, store.length * 2));
          grown.set(store);
          store = grown;
        }
        store[n++] = ms;
        if (res.statusCode === 200) ok++;
        else statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      } catch (err) {
        errors++;
        firstError ??= (err as Error)?.message ?? String(err);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(clients.map(loop));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(store[i] * 1000) / 1000;
  return { completed: n, ok, statuses, errors, firstError, elapsedMs, cpuUs: cpu.user + cpu.system, latencies: out };
}

/** One request, checked: used to prime the memo and to fail fast when a gateway is miswired. */
export async function sendOnce(url: string, name: BodyName | 'prime', variant: Variant): Promise<{ status: number; headers: Record<string, unknown> }> {
  const body = bodyFor(name, variant);
  const client = new Client(url);
  try {
    const res = await client.request({ path: body.path, method: 'POST', headers: body.headers, body: body.bytes });
    await res.body.arrayBuffer();
    return { status: res.statusCode, headers: res.headers };
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  serveParent(
    {
      run: (m) => runLoad(m.spec as RunSpec),
      once: (m) => sendOnce(m.url, m.body, m.variant),
      // Build bodies before any timing, so the first cell does not pay for it.
      prepare: (m) => {
        for (const [name, variant] of m.bodies as Array<[BodyName | 'prime', Variant]>) bodyFor(name, variant);
        return [...built.entries()].map(([k, b]) => ({ key: k, bytes: b.bytes.length }));
      },
    },
    () => undefined,
  );
  sendReady({ pid: process.pid });
}
