/**
 * `npm run gateway`: reads the environment (see config.ts and the README's Gateway section),
 * builds the gateway (app.ts) and listens. Nothing else here; the README's "Layout" says which file owns what.
 *
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, flush the spend log, close the
 * database pool and Redis, exit 0 — all within SHUTDOWN_TIMEOUT_MS (default 10 s); past it, open
 * connections are cut, the spend log gets what is left of the time (at least 1 s) and the process exits.
 */
import type { Logger } from 'express-headroom';
import { createGateway } from './app';
import { EnvError, settingsFromEnv } from './config';

const logger: Logger = {
  debug() {},
  info: (obj, msg) => console.log(`[gateway] ${msg ?? ''}`, Object.keys(obj).length ? JSON.stringify(obj) : ''),
  warn: (obj, msg) => console.warn(`[gateway] WARN ${msg ?? ''}`, JSON.stringify(obj)),
  error: (obj, msg) => console.error(`[gateway] ERROR ${msg ?? ''}`, JSON.stringify(obj)),
};

async function main(): Promise<void> {
  let settings;
  try {
    settings = settingsFromEnv(process.env);
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(`[gateway] ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const { config, host, port, shutdownTimeoutMs } = settings;
  // The embedded compressor is loaded only when it is used (its tokenizer tables take a moment).
  const compressor = config.headroomApiBase ? undefined : (await import('./compressor')).compress;
  const gateway = createGateway({ ...config, compressor, logger });

  if (gateway.compression === 'embedded') {
    logger.info({}, 'headroom: no HEADROOM_API_BASE set, compressing in-process with the embedded compressor');
  } else {
    logger.info({}, `headroom: compressing through the Headroom service at ${config.headroomApiBase}`);
  }
  if (!config.anthropicApiKey) logger.warn({}, `ANTHROPIC_API_KEY is not set: requests to ${config.anthropicUpstream} go without provider credentials`);
  if (!config.openaiApiKey) logger.warn({}, `OPENAI_API_KEY is not set: requests to ${config.openaiUpstream} go without provider credentials`);
  if (config.databaseUrl && process.env.DATABASE_PATH) logger.warn({}, 'DATABASE_URL and DATABASE_PATH are both set: DATABASE_URL (Postgres) is used');
  // The schema is migrated before the first request is accepted; a store that cannot be reached stops the start.
  try {
    await gateway.ready;
  } catch (err) {
    logger.error({ err: (err as Error)?.message }, `cannot open the database (${gateway.store})`);
    await gateway.close({ flushTimeoutMs: 0 }).catch(() => {});
    process.exit(1);
  }

  const server = gateway.app.listen(port, host, () => {
    logger.info(
      {},
      `listening on http://${host}:${port} (anthropic → ${config.anthropicUpstream}, openai → ${config.openaiUpstream}, store ${gateway.store}, memo ${config.redisUrl ? 'redis (shared)' : 'in-process'}, retrieval at /mcp and /v1/retrieve ${config.redisUrl ? 'from redis (shared)' : 'in-process'}, HEADROOM_DEFAULT_ON=${config.defaultOn})`,
    );
  });
  // Long model streams: keep connections for the whole answer; idle keep-alive longer than typical load balancers.
  server.keepAliveTimeout = 65_000;
  server.on('error', (err) => {
    logger.error({ err: err.message }, 'cannot listen');
    process.exit(1);
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + shutdownTimeoutMs;
    logger.info({}, `shutting down (at most ${shutdownTimeoutMs} ms): no new connections, finishing in-flight requests`);
    setTimeout(() => {
      logger.error({}, `shutdown took longer than ${shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, shutdownTimeoutMs + 1000).unref();
    // Keep-alive connections between requests are closed as they go idle; a request in flight finishes first.
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, shutdownTimeoutMs - 1000));
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      void gateway
        .close({ flushTimeoutMs: Math.max(1000, deadline - Date.now()) })
        .then(() => {
          logger.info({}, 'stopped');
          process.exit(0);
        })
        .catch((err) => {
          logger.error({ err: (err as Error)?.message }, 'shutdown failed');
          process.exit(1);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error('[gateway] ERROR', err);
  process.exit(1);
});
