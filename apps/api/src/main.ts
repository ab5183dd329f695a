import 'reflect-metadata';
import { createLogger, exitOnSignal, loadConfigOrExit, prepareServices } from '@app/common';
import { createApi, startLine } from './app.js';

async function main() {
  const log = createLogger();
  const config = loadConfigOrExit(log);
  const services = await prepareServices(config, log);
  const app = await createApi(config, log);
  await app.listen(config.PORT, '0.0.0.0');
  log.info(startLine(config.PORT, config.RUN_WORKER), 'token-wallet API listening');
  exitOnSignal(
    log,
    async () => {
      await app.close();
      await services.stop();
    },
    config.REDIS_URL,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
