import 'reflect-metadata';
import { createLogger, exitOnSignal, loadConfigOrExit, PinoNestLogger, prepareServices, serveMetrics } from '@app/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module.js';

async function main() {
  const log = createLogger();
  const config = loadConfigOrExit(log);
  const services = await prepareServices(config, log);
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config, log), { logger: new PinoNestLogger(log) });
  // Job outcomes, provider latency and webhook deliveries are counted here: expose them.
  const metrics = config.WORKER_METRICS_PORT ? await serveMetrics(config.WORKER_METRICS_PORT) : null;
  log.info({ metrics_port: metrics ? config.WORKER_METRICS_PORT : null }, 'token-wallet worker running');
  exitOnSignal(
    log,
    async () => {
      metrics?.close();
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
