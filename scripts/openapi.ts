/**
 * Writes the OpenAPI document of the HTTP API to docs/openapi.json (or the
 * path given), for generating clients. Needs no database or Redis: the app is
 * created in Nest's preview mode, which builds the module graph (controllers,
 * routes, decorators) without instantiating any provider, so nothing connects.
 *
 *   npm run openapi            (builds, then runs dist/scripts/openapi.js)
 */
import 'reflect-metadata';
import { buildOpenApi, createLogger, loadConfig } from '@app/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ApiModule } from '../apps/api/src/api.module.js';

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'docs/openapi.json');
  // The document depends on the routes alone, not on the configuration: no environment is read.
  // The module graph wants connection URLs, but in preview mode nothing ever connects to them.
  const config = loadConfig({
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    REDIS_URL: 'redis://127.0.0.1:1',
    RUN_WORKER: 'false',
    LOG_LEVEL: 'silent',
  });
  // The adapter the API runs on: without one Nest looks for Express, which is not installed.
  const app = await NestFactory.create(ApiModule.register(config, createLogger('silent')), new FastifyAdapter(), {
    preview: true,
    abortOnError: false,
    logger: false,
  });
  try {
    const document = buildOpenApi(app);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`wrote ${out} (${Object.keys(document.paths).length} paths)`);
  } finally {
    await app.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
