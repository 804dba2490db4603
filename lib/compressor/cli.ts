#!/usr/bin/env node
/**
 * `express-headroom-compressor`: the embedded compressor as a loopback Headroom service.
 *
 *   express-headroom-compressor [--port 8787] [--host 127.0.0.1] [--time-limit-ms 30000]
 *
 * A bearer token is required when HEADROOM_COMPRESSOR_TOKEN is set (read from the environment, not
 * a flag, so it does not show in the process list).
 */
import type { AddressInfo } from 'node:net';
import { createCompressorServer } from './server';
import { warmUpTokenizers } from './tokens';

export interface CliOptions {
  port: number;
  host: string;
  timeLimitMs?: number;
}

const USAGE = 'usage: express-headroom-compressor [--port <n>] [--host <addr>] [--time-limit-ms <n>]';

/** Parses argv (without node and the script); throws an Error with a usage message on bad input. */
export function parseCliArgs(argv: readonly string[]): CliOptions | 'help' {
  const options: CliOptions = { port: 8787, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === '--port') {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535\n${USAGE}`);
      options.port = port;
    } else if (flag === '--host') {
      options.host = value;
    } else if (flag === '--time-limit-ms') {
      const limit = Number(value);
      if (!Number.isFinite(limit) || limit <= 0) throw new Error(`--time-limit-ms must be a positive number\n${USAGE}`);
      options.timeLimitMs = limit;
    } else {
      throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return options;
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export function main(argv: readonly string[] = process.argv.slice(2)): void {
  let options: CliOptions | 'help';
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // Load the BPE tables now, not on the first request.
  warmUpTokenizers();
  const token = process.env.HEADROOM_COMPRESSOR_TOKEN;
  const server = createCompressorServer({ timeLimitMs: options.timeLimitMs, token: token === '' ? undefined : token });
  server.on('error', (error: NodeJS.ErrnoException) => {
    process.stderr.write(`express-headroom-compressor: ${error.code ?? error.message}\n`);
    process.exit(1);
  });
  server.listen(options.port, options.host, () => {
    process.stdout.write(`express-headroom-compressor listening on ${urlOf(server.address() as AddressInfo)}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) main();
