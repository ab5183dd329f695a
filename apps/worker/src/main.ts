import 'reflect-metadata';
import { ConfigError, createLogger, loadConfig, PinoNestLogger, prepareDatabase } from '@app/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module.js';

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
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config, log), { logger: new PinoNestLogger(log) });
  app.enableShutdownHooks();
  log.info('token-wallet worker running');
  const stop = async (signal: string) => {
    log.info({ signal }, 'worker shutting down');
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
