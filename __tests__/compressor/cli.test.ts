import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCliArgs } from '../../lib/compressor/cli';

const root = join(__dirname, '..', '..');
const cliPath = join(root, 'lib', 'compressor', 'cli.ts');

describe('argument parsing', () => {
  it('defaults to 127.0.0.1:8787', () => {
    expect(parseCliArgs([])).toEqual({ port: 8787, host: '127.0.0.1' });
  });

  it('reads --port, --host and --time-limit-ms, with a space or =', () => {
    expect(parseCliArgs(['--port', '0', '--host=::1', '--time-limit-ms', '5000'])).toEqual({ port: 0, host: '::1', timeLimitMs: 5000 });
    expect(parseCliArgs(['--help'])).toBe('help');
  });

  it.each([[['--port', 'x']], [['--port', '70000']], [['--port']], [['--verbose']], [['--time-limit-ms', '-1']]])('rejects %j', (argv) => {
    expect(() => parseCliArgs(argv)).toThrow(/usage: express-headroom-compressor/);
  });

  it('is an executable script', () => {
    expect(readFileSync(cliPath, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('the bin', () => {
  it('prints its URL, serves /health and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', cliPath, '--port', '0'], {
      cwd: root,
      env: { ...process.env, HEADROOM_COMPRESSOR_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const health = await fetch(`${url}/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
