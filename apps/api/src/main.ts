import 'reflect-metadata';
import { ConfigError, createLogger, loadConfig, prepareDatabase } from '@app/common';
import { createApi } from './app.js';

async function main() {
  const log = createLogger();
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      log.fatal(e.message);
      process.exit(1);
    }
    throw e;
  }
  const db = await prepareDatabase(config, log);
  const app = await createApi(config, log);
  await app.listen(config.PORT, '0.0.0.0');
  log.info({ port: config.PORT, worker: config.RUN_WORKER }, 'token-wallet API listening');
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await app.close();
    await db.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
