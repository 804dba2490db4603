/**
 * `npm run gateway`: reads the environment (see config.ts and the README's Gateway section),
 * builds the gateway (app.ts) and listens. Nothing else here; the README's "Layout" says which file owns what.
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
  const { config, host, port } = settings;
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

  const server = gateway.app.listen(port, host, () => {
    logger.info(
      {},
      `listening on http://${host}:${port} (anthropic → ${config.anthropicUpstream}, openai → ${config.openaiUpstream}, database ${config.databasePath}, HEADROOM_DEFAULT_ON=${config.defaultOn})`,
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
    logger.info({}, 'shutting down');
    server.close(() => void gateway.close().then(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error('[gateway] ERROR', err);
  process.exit(1);
});
