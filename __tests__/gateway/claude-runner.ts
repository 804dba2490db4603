/**
 * Runs the real `claude` CLI (the dev dependency's binary) once, non-interactively, against a
 * gateway: a fresh HOME (nothing of the developer's own Claude setup or keys leaks in), telemetry,
 * updates and error reporting off, killed after 60 s. Shared by the gateway's CLI tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLAUDE = join(__dirname, '..', '..', 'node_modules', '.bin', 'claude');

export interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `claude <args>` with `ANTHROPIC_BASE_URL=baseUrl ANTHROPIC_AUTH_TOKEN=token`, in `cwd` (a fresh
 * temporary directory, removed afterwards, when not given). `setup(home)` may write files into the
 * fresh HOME first (an MCP config, say) and return more arguments.
 */
export function runClaude(opts: { args: string[]; baseUrl: string; token: string; cwd?: string; setup?: (home: string) => string[] }): Promise<ClaudeRun> {
  const home = mkdtempSync(join(tmpdir(), 'claude-home-'));
  const work = opts.cwd ?? mkdtempSync(join(tmpdir(), 'claude-work-'));
  const args = [...opts.args, ...(opts.setup?.(home) ?? [])];
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE, args, {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        ANTHROPIC_BASE_URL: opts.baseUrl,
        ANTHROPIC_AUTH_TOKEN: opts.token,
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_BUG_COMMAND: '1',
        CI: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const cleanUp = () => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      if (!opts.cwd) rmSync(work, { recursive: true, force: true });
    };
    child.on('error', (err) => {
      cleanUp();
      reject(err);
    });
    child.on('close', (code) => {
      cleanUp();
      resolve({ code, stdout, stderr });
    });
  });
}
