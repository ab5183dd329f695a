import 'reflect-metadata';
import {
  answerExpectations,
  AppConfig,
  buildOpenApi,
  clientErrorHandler,
  createValidationPipe,
  DomainError,
  httpDuration,
  httpRequests,
  installStrictInput,
  LocationInterceptor,
  NoBodyGuard,
  PinoNestLogger,
  ProblemFilter,
  sendProblem,
} from '@app/common';
import { FILES_ROUTE } from '@app/generation';
import fastifyStatic from '@fastify/static';
import { INestApplication } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { FastifyError, FastifyReply, FastifyRequest, LogController } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ApiModule } from './api.module.js';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const STRIPE_WEBHOOK = '/v1/stripe/webhook';
const JSON_LIMIT = 256 * 1024;
/** Stripe's events can be larger than an API body. */
const STRIPE_LIMIT = 1024 * 1024;

/**
 * One line per request, `"msg":"request completed"`, in the shape pino-http
 * wrote before Fastify (docs/operations.md): `req` holds only id, method and
 * URL, since bodies carry prompts and metadata and headers carry keys.
 */
class RequestLog extends LogController {
  constructor(private readonly log: Logger) {
    super();
  }
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = {
      req: { id: req.id, method: req.method, url: req.url },
      res: { statusCode: reply.statusCode, headers: reply.getHeaders() },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (error) this.log.error({ ...line, err: error }, 'request errored');
    else if (reply.statusCode >= 500) this.log.error(line, 'request completed');
    else this.log.info(line, 'request completed');
  }
}

/** Builds the HTTP app (used by main.ts and the e2e tests alike). */
export async function createApi(config: AppConfig, log: Logger): Promise<INestApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: log,
    logController: new RequestLog(log),
    // Ours, validated: a client's X-Request-Id is used only if it looks like an id.
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: JSON_LIMIT,
    // As Express routed: case-insensitive, a trailing slash ignored, no limit on a parameter's length
    // (an owner_id of 129 characters is a 400 from its validation, not a 404).
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 16 * 1024 },
    clientErrorHandler,
    // On SIGTERM, what already reached the server is served (as under Express), not answered 503.
    return503OnClosing: false,
    // Node's own timeouts, as under Express (Fastify's defaults are 72 s keep-alive, which holds a
    // drain on SIGTERM that long, and no request timeout).
    keepAliveTimeout: 5_000,
    requestTimeout: 300_000,
    // A path that is not valid percent-encoding never reaches the router: answer it as problem+json too.
    frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      void reply.header('X-Request-Id', req.id);
      sendProblem(
        reply,
        error.code === 'FST_ERR_BAD_URL'
          ? new DomainError(400, 'validation_error', 'Request validation failed', 'The path is not valid percent-encoded UTF-8', [
              { field: 'path', message: 'The path is not valid percent-encoded UTF-8' },
            ])
          : new DomainError(400, 'bad_request', 'Bad request', error.message),
      );
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(config, log), adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(log),
  });
  const fastify = app.getHttpAdapter().getInstance();
  answerExpectations(app.getHttpServer());
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('X-Request-Id', req.id);
    done();
  });
  // Spec section 8 for every route: JSON bodies only (415), no control characters, no nulls as "absent".
  // Stripe signs the exact bytes it sent: its webhook gets the raw body, never parsed JSON.
  installStrictInput(fastify, { rawBodyRoutes: [STRIPE_WEBHOOK], jsonLimit: JSON_LIMIT, rawLimit: STRIPE_LIMIT });
  // Counted by route pattern (not raw URL), so ids do not explode the label space.
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    done();
  });
  // Generated images: unguessable names (128-bit generation ids), served without a key.
  await app.register(fastifyStatic, {
    root: resolve(config.STORAGE_DIR),
    prefix: `${FILES_ROUTE}/`,
    index: false,
    maxAge: '1d',
    decorateReply: false,
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalGuards(new NoBodyGuard());
  app.useGlobalFilters(new ProblemFilter());
  app.useGlobalInterceptors(new LocationInterceptor(app.get(Reflector)));
  // The OpenAPI document: Swagger UI at /docs, the JSON at /docs-json (and YAML at /docs-yaml).
  // Plain Fastify routes, outside Nest's guards: they need no API key.
  SwaggerModule.setup('docs', app, buildOpenApi(app), { customSiteTitle: 'token-wallet API' });
  return app;
}
