/**
 * A real Postgres cluster on loopback, started by the test itself: `initdb` into a temp dir (owned by
 * the `postgres` user when the tests run as root, which Postgres refuses to run as), `pg_ctl start`
 * on a free port with its socket in that dir, one database created. `stop()`/`start()` let a test
 * take it away mid-run; `destroy()` stops it and removes the dir. `.ci/run` installs Debian's
 * `postgresql`; without its binaries the Postgres suites are skipped (see `postgresBinDir`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's layout (/usr/lib/postgresql/<major>/bin), or initdb on PATH; undefined when absent. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => existsSync(join(root, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length) return join(root, majors[0], 'bin');
  }
  const r = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return r.status === 0 ? join(r.stdout.trim(), '..') : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PostgresCluster {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/gateway` */
  url: string;
  /** Stops the server (fast shutdown: open connections are cut). */
  stop(): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /** Stops it and removes its directory. */
  destroy(): void;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(bin: string, args: string[]): void {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export async function startPostgres(database = 'gateway'): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('Postgres binaries not found (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  if (asRoot) spawnSync('chown', ['postgres:postgres', dir]);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const start = () =>
    run(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      'start',
    ]);
  const stop = () => run(join(bin, 'pg_ctl'), ['-D', data, '-w', '-m', 'fast', 'stop']);
  start();
  run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database]);
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop,
    start,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
