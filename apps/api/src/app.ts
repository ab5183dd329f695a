import 'reflect-metadata';
import {
  answerExpectations,
  AppConfig,
  type AuthedRequest,
  buildOpenApi,
  clientErrorHandler,
  createValidationPipe,
  Database,
  DomainError,
  Errors,
  httpDuration,
  httpRequests,
  installStrictInput,
  LocationInterceptor,
  NoBodyGuard,
  PinoNestLogger,
  problemCodeOf,
  ProblemFilter,
  sendProblem,
} from '@app/common';
import { EDIT_BODY_LIMIT, FILES_ROUTE, IMAGE_EDITS_ROUTE, parseImageName } from '@app/generation';
import fastifyStatic from '@fastify/static';
import { INestApplication } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { FastifyError, FastifyReply, FastifyRequest, LogController } from 'fastify';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ApiModule } from './api.module.js';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const STRIPE_WEBHOOK = '/v1/stripe/webhook';
const JSON_LIMIT = 256 * 1024;
/** Stripe's events can be larger than an API body. */
const STRIPE_LIMIT = 1024 * 1024;

/** Load balancers and orchestrators ask these every few seconds: not worth a line each. */
const PROBES = new Set(['/health/live', '/health/ready']);

/**
 * One line per request, `"msg":"request completed"`, in the shape pino-http
 * wrote before Fastify (docs/operations.md): `req` holds only id, method and
 * URL, since bodies carry prompts and metadata and headers carry keys. A 4xx
 * is a warning with its problem `code` and the API key's name (never the
 * key); a 5xx an error; health probes are not logged.
 */
class RequestLog extends LogController {
  constructor(private readonly log: Logger) {
    super();
  }
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    if (!error && PROBES.has(req.routeOptions.url ?? '')) return;
    const status = reply.statusCode;
    const line: Record<string, unknown> = {
      req: { id: req.id, method: req.method, url: req.url },
      res: { statusCode: status, headers: reply.getHeaders() },
      responseTime: Math.round(reply.elapsedTime),
    };
    const key = (req as AuthedRequest).principal?.name;
    if (key) line.key_name = key;
    if (status >= 400) line.code = problemCodeOf(req);
    if (error) this.log.error({ ...line, err: error }, 'request errored');
    else if (status >= 500) this.log.error(line, 'request completed');
    else if (status >= 400) this.log.warn(line, 'request completed');
    else this.log.info(line, 'request completed');
  }
}

/** The one line that says the API is up: where, the docs and dashboard, and how to get a key. */
export function startLine(port: number, worker: boolean) {
  const url = `http://localhost:${port}`;
  return {
    port,
    worker,
    url,
    docs: `${url}/docs`,
    admin: `${url}/admin`,
    make_a_key: 'npm run cli -- api-key create --name NAME --scope gateway|admin',
  };
}

/** Builds the HTTP app (used by main.ts and the e2e tests alike). */
export async function createApi(config: AppConfig, log: Logger): Promise<INestApplication> {
  // Fastify's own info lines ("Server listening at ..." once per address) repeat main.ts's start line:
  // it logs from warn up, unless the level asked for is debug or finer.
  const fastifyLog = log.levelVal >= 40 || log.isLevelEnabled('debug') ? log : log.child({}, { level: 'warn' });
  const adapter = new FastifyAdapter({
    loggerInstance: fastifyLog,
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
  installStrictInput(fastify, {
    rawBodyRoutes: [STRIPE_WEBHOOK],
    jsonLimit: JSON_LIMIT,
    rawLimit: STRIPE_LIMIT,
    jsonLimitByRoute: { [IMAGE_EDITS_ROUTE]: EDIT_BODY_LIMIT },
  });
  // Counted by route pattern (not raw URL), so ids do not explode the label space.
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    done();
  });
  // Generated images: unguessable names (128-bit generation ids), served without a key, and only
  // once billed: a file the worker wrote for a generation whose hold ended first (nothing charged),
  // or one past what was delivered, is a 404. The settle's commit is what publishes an image.
  // @fastify/static warns at start when its root does not exist yet (no image stored so far).
  mkdirSync(resolve(config.STORAGE_DIR), { recursive: true });
  await app.register(fastifyStatic, { root: resolve(config.STORAGE_DIR), serve: false, index: false, maxAge: '1d' });
  const db = app.get(Database);
  fastify.get<{ Params: { name: string } }>(`${FILES_ROUTE}/:name`, async (req, reply) => {
    const file = parseImageName(req.params.name);
    const billed =
      file !== null &&
      (
        await db.query(`SELECT 1 FROM generations WHERE id = $1 AND status = 'succeeded' AND delivered > $2`, [
          file.generationId,
          file.index,
        ])
      ).length > 0;
    if (billed) return reply.sendFile(req.params.name);
    sendProblem(reply, Errors.notFound('file_not_found', `No image ${req.params.name}`));
    return reply;
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
