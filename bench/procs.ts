/**
 * Child-process plumbing shared by the orchestrator and its children: fork a built module (see
 * build.ts), ask it things over the IPC channel (request/reply matched by id, every wait
 * bounded), and stop every child at the end, even when the orchestrator is interrupted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface Child {
  name: string;
  proc: ChildProcess;
  /** Sends `msg` and resolves with the child's reply to it. Rejects after `timeoutMs`. */
  call<T = any>(msg: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Asks the child to exit cleanly (so a `--cpu-prof` profile gets written), then kills it if it does not. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let nextId = 1;

// A child that outlives the orchestrator would hold a port and a core: kill whatever is left.
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const p of live) p.kill('SIGKILL');
    process.exit(130);
  });
}

/**
 * Forks the JavaScript file `modulePath` with `args`. `nodeArgs` go to node itself (e.g. `--cpu-prof`).
 * `BENCH_ROOT` tells the child where the repository is (a built file's own directory is not in it).
 * Resolves when the child says `{type:'ready'}`; the ready message is returned as `info`.
 */
export async function spawnChild(name: string, modulePath: string, args: string[], nodeArgs: string[] = [], root = path.resolve(__dirname, '..')): Promise<Child & { info: any }> {
  const proc = fork(modulePath, args, {
    execArgv: nodeArgs,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_ROOT: root },
  });
  live.add(proc);
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let readyResolve: (v: any) => void;
  let readyReject: (e: Error) => void;
  const ready = new Promise<any>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  proc.on('message', (m: any) => {
    if (m?.type === 'ready') return readyResolve(m);
    const p = pending.get(m?.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error) p.reject(new Error(`${name}: ${m.error}`));
    else p.resolve(m.result);
  });
  proc.once('exit', (code, signal) => {
    live.delete(proc);
    const err = new Error(`${name} exited (code ${code}, signal ${signal})`);
    readyReject(err);
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
  });
  const startTimer = setTimeout(() => readyReject(new Error(`${name} did not start within 30 s`)), 30_000);
  const info = await ready.finally(() => clearTimeout(startTimer));

  const call = <T>(msg: Record<string, unknown>, timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}: no reply to ${String(msg.type)} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      proc.send({ ...msg, id });
    });

  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.send({ type: 'stop' });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { name, proc, call, stop, info };
}

type Handler = (msg: any) => unknown | Promise<unknown>;

/**
 * The child side: answers each request with the handler's result, exits on `stop` (after
 * `onStop`) and when the parent goes away, so no orphan keeps running.
 */
export function serveParent(handlers: Record<string, Handler>, onStop: () => Promise<void> | void): void {
  const exit = async () => {
    try {
      await onStop();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', () => void exit());
  process.on('message', async (msg: any) => {
    if (msg?.type === 'stop') return void exit();
    const h = handlers[msg?.type];
    if (!h) return process.send?.({ id: msg?.id, error: `unknown message ${msg?.type}` });
    try {
      process.send?.({ id: msg.id, result: await h(msg) });
    } catch (err) {
      process.send?.({ id: msg.id, error: (err as Error)?.stack ?? String(err) });
    }
  });
}

export function sendReady(info: Record<string, unknown>): void {
  process.send?.({ type: 'ready', ...info });
}
