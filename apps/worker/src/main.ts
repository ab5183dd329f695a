import 'reflect-metadata';
import { createLogger, exitOnSignal, loadConfigOrExit, PinoNestLogger, prepareDatabase } from '@app/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module.js';

async function main() {
  const log = createLogger();
  const config = loadConfigOrExit(log);
  const db = await prepareDatabase(config, log);
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config, log), { logger: new PinoNestLogger(log) });
  log.info('token-wallet worker running');
  exitOnSignal(log, async () => {
    await app.close();
    await db.stop();
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
