import 'reflect-metadata';
import { createLogger, exitOnSignal, loadConfigOrExit, prepareDatabase } from '@app/common';
import { createApi } from './app.js';

async function main() {
  const log = createLogger();
  const config = loadConfigOrExit(log);
  const db = await prepareDatabase(config, log);
  const app = await createApi(config, log);
  await app.listen(config.PORT, '0.0.0.0');
  log.info({ port: config.PORT, worker: config.RUN_WORKER }, 'token-wallet API listening');
  exitOnSignal(log, async () => {
    await app.close();
    await db.stop();
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
