/**
 * Runs the real Codex CLI (the dev dependency's `codex exec`) once, non-interactively, against a
 * gateway configured as a custom model provider on the Responses wire API: a fresh CODEX_HOME (also
 * HOME: nothing of the developer's own Codex setup or keys leaks in), every proxy variable pointing
 * at a trap that refuses and records whatever Codex tries to reach besides loopback, killed (with
 * everything it started) after 45 s. Shared by the gateway's Codex tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { listenOnLoopback } from '../kit/listen';

export const CODEX = join(__dirname, '..', '..', 'node_modules', '.bin', 'codex');
/** In the CLI's bundled model catalog (`codex debug models --bundled`), so it runs with real model metadata, not the fallback. */
export const CODEX_MODEL = 'gpt-5.5';

/** An HTTP(S) proxy that refuses everything and records who asked: anything Codex tries to reach besides the gateway. */
export async function startTrapProxy(): Promise<{ url: string; attempts: string[]; close(): Promise<void> }> {
  const attempts: string[] = [];
  const server = http.createServer((req, res) => {
    attempts.push(`${req.method} ${req.url}`);
    res.writeHead(403);
    res.end();
  });
  server.on('connect', (req, socket) => {
    attempts.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  const bound = await listenOnLoopback(server);
  return { url: bound.url, attempts, close: bound.close };
}

/**
 * `$CODEX_HOME/config.toml`: the gateway as a custom Responses provider, no approvals, no sandbox
 * (Codex's Linux sandbox is bubblewrap, which needs unprivileged user namespaces that many CI
 * containers refuse; the commands are the test's own and only read `orders.json`), no retries (a
 * failure shows at once), and nothing that phones home: analytics off (ab.chatgpt.com), plugins
 * off (github.com, api.github.com, chatgpt.com), no update check. The trap proxy checks it.
 */
export function codexConfig(baseUrl: string): string {
  return [
    `model = "${CODEX_MODEL}"`,
    'model_provider = "gateway"',
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'check_for_update_on_startup = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[features]',
    'plugins = false',
    '',
    '[model_providers.gateway]',
    'name = "Headroom gateway"',
    `base_url = "${baseUrl}/v1"`,
    'wire_api = "responses"',
    'env_key = "GATEWAY_KEY"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n');
}

export interface CodexRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let child: ChildProcess | undefined;
/** Kills the running Codex, if any, and everything it started (its own process group). */
export function killCodex(): void {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * `codex exec <args> <prompt>` in `work`, with `$CODEX_HOME = $HOME = home` (write its config.toml
 * first), the provider key in `GATEWAY_KEY`, `env` added to the environment, and `proxy` as every
 * proxy (loopback exempt).
 */
export function runCodex(opts: { home: string; work: string; key: string; proxy: string; prompt: string; args?: string[]; env?: Record<string, string> }): Promise<CodexRun> {
  const started = Date.now();
  const args = ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', '--ephemeral', '--json', '--color', 'never', ...(opts.args ?? []), opts.prompt];
  return new Promise((resolve, reject) => {
    child = spawn(CODEX, args, {
      cwd: opts.work,
      // A clean environment: nothing of the developer's own Codex setup or keys leaks in.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: opts.home,
        CODEX_HOME: opts.home,
        GATEWAY_KEY: opts.key,
        HTTP_PROXY: opts.proxy,
        HTTPS_PROXY: opts.proxy,
        ALL_PROXY: opts.proxy,
        http_proxy: opts.proxy,
        https_proxy: opts.proxy,
        all_proxy: opts.proxy,
        NO_PROXY: '127.0.0.1,localhost',
        no_proxy: '127.0.0.1,localhost',
        ...(opts.env ?? {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const timer = setTimeout(killCodex, 45_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The JSONL events of `codex exec --json`. */
export function codexEvents(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .filter(Boolean);
}
