import 'reflect-metadata';
import {
  answerClientErrors,
  AppConfig,
  buildOpenApi,
  createValidationPipe,
  httpDuration,
  httpRequests,
  NoBodyGuard,
  PinoNestLogger,
  ProblemFilter,
  rejectExponentNumbers,
  strictInput,
} from '@app/common';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { FILES_ROUTE } from '@app/generation';
import { resolve } from 'node:path';
import { ApiModule } from './api.module.js';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const STRIPE_WEBHOOK = '/v1/stripe/webhook';

/** Builds the HTTP app (used by main.ts and the e2e tests alike). */
export async function createApi(config: AppConfig, log: Logger): Promise<INestApplication> {
  const app = await NestFactory.create(ApiModule.register(config, log), {
    bodyParser: false,
    logger: new PinoNestLogger(log),
  });
  (app.getHttpAdapter().getInstance() as express.Express).disable('x-powered-by');
  answerClientErrors(app.getHttpServer() as Server);
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      // Bodies are never logged: they carry prompts and metadata.
      serializers: { req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }) },
    }),
  );
  // Stripe signs the exact bytes it sent: its webhook gets the raw body, never parsed JSON.
  app.use(STRIPE_WEBHOOK, express.raw({ type: () => true, limit: '1mb' }));
  app.use(
    express.json({
      limit: '256kb',
      type: 'application/json',
      verify: rejectExponentNumbers,
      // A "__proto__" key would become an object's prototype once copied into a DTO: refuse the body.
      reviver: (k: string, v: unknown) => {
        if (k === '__proto__') throw new SyntaxError('forbidden key');
        return v;
      },
    }),
  );
  // Spec section 8 for every route: JSON bodies only (415), no control characters, no nulls as "absent".
  app.use(strictInput({ rawBodyPaths: [STRIPE_WEBHOOK] }));
  // Counted by route pattern (not raw URL), so ids do not explode the label space.
  app.use((req: express.Request, res: express.Response, next: express.NextFunction) => {
    const end = httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : 'unmatched';
      end({ method: req.method, route });
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  // Generated images: unguessable names (128-bit generation ids), served without a key.
  app.use(FILES_ROUTE, express.static(resolve(config.STORAGE_DIR), { index: false, fallthrough: false, maxAge: '1d' }));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalGuards(new NoBodyGuard());
  app.useGlobalFilters(new ProblemFilter());
  // The OpenAPI document: Swagger UI at /docs, the JSON at /docs-json (and YAML at /docs-yaml).
  // Plain Express routes, outside Nest's guards: they need no API key.
  SwaggerModule.setup('docs', app, buildOpenApi(app), { customSiteTitle: 'token-wallet API' });
  return app;
}
