import { pino } from 'pino';
import { startFakeProvider } from '../../../libs/generation/src/providers/fake-provider.server.js';

/**
 * The bundled fake image provider as its own process, for benchmarks and for
 * pointing a live-mode service at it (OPENAI_BASE_URL=<url>/v1,
 * CLOUDFLARE_BASE_URL=<url>/client/v4). Imported by path rather than through
 * @app/generation so that starting it does not load Nest, TypeORM or BullMQ.
 */
const log = pino({ base: { service: 'fake-provider' } });

function numberFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    // Same rule as the service: a bad value stops boot, naming the variable.
    log.fatal(`${name} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return value;
}

async function main(): Promise<void> {
  const port = numberFromEnv('PORT', 4010, 0, 65535);
  const latencyMs = numberFromEnv('FAKE_LATENCY_MS', 0, 0, 600_000);
  const failureRate = numberFromEnv('FAKE_FAILURE_RATE', 0, 0, 1);
  const host = process.env.HOST ?? '127.0.0.1';
  const fake = await startFakeProvider({ port, host, latencyMs, failureRate });
  log.info(
    {
      url: fake.url,
      openai_base_url: fake.openaiBaseURL,
      cloudflare_base_url: fake.cloudflareBaseURL,
      latency_ms: latencyMs,
      failure_rate: failureRate,
    },
    'fake image provider listening',
  );
  const stop = (signal: string) => {
    log.info({ signal, requests: fake.requests }, 'shutting down');
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log.fatal({ err: e }, 'fake image provider failed to start');
  process.exit(1);
});
