export { ApiKeyGuard, type AuthedRequest, CurrentPrincipal, RequireScope } from './api-key.guard.js';
export { type ApiKeyInfo, ApiKeyLookupError, ApiKeyService, hashKey, type Principal } from './api-key.service.js';
export { bigintColumn } from './bigint.transformer.js';
export { Clock } from './clock.js';
export { CommonModule } from './common.module.js';
export { AppConfig, ConfigError, loadConfig } from './config.js';
export { dataSourceOptions, migrationsApplied, runMigrations } from './data-source.js';
export { Database, pgCode, PgCode, type Sql, sqlOf, type Tx } from './database.js';
export { EmbeddedPostgresError, startEmbeddedPostgres } from './embedded-postgres.js';
export { HOW_TO_GET_REDIS, redisAnswers, startEmbeddedRedis } from './embedded-redis.js';
export { ApiKey, type Scope } from './entities/api-key.entity.js';
export { DomainError, Errors, type FieldError } from './errors.js';
export { newId } from './ids.js';
export {
  claimKey,
  fingerprintOf,
  Idem,
  IdempotencyService,
  type IdempotentRequest,
  type Outcome,
  reply,
  storeOutcome,
} from './idempotency.service.js';
export { exponentMessage, findExponentNumber, findInexactNumber, inexactMessage } from './json-numbers.js';
export { createLogger, PinoNestLogger, REDACT } from './logger.js';
export {
  centsToMt,
  checkTokens,
  formatTokens,
  formatUsd,
  MAX_TOKENS_MT,
  MoneyFormatError,
  MT_PER_TOKEN,
  MT_PER_USD,
  type ParseOptions,
  parseTokens,
} from './money.js';
export { type Problem, problemCodeOf, PROBLEM_CONTENT_TYPE, ProblemFilter, problemOf, sendProblem } from './problem.filter.js';
export { type Meters, PRICE_QUOTER, type PriceQuoter, type Quote } from './quote.js';
export { APP_CONFIG, LOGGER, MAINTENANCE_QUEUE } from './tokens.js';
export { createValidationPipe } from './validation.js';
export {
  checkOwnerId,
  FreeText,
  isFreeText,
  IsIsoDateTime,
  isIsoDateTime,
  IsOwnerId,
  IsTokenAmount,
  MaxJsonSize,
  OWNER_ID,
} from './validators.js';
export { exitOnSignal, loadConfigOrExit, prepareDatabase, prepareRedis, prepareServices } from './runtime.js';
export { type CheckViolation, type LedgerCheck, LedgerCheckRegistry } from './ledger-checks.js';
export { NoBodyGuard } from './no-body.guard.js';
export {
  type CountableQueue,
  countedQueues,
  httpDuration,
  httpRequests,
  ledgerOperations,
  metricsRegistry,
  providerRequests,
  queueDepth,
  queueJobs,
  reservationAge,
  serveMetrics,
  webhookDeliveries,
} from './metrics.js';
export { OpsController } from './ops.controller.js';
export { RateLimited, RateLimiter, type RateLimitState, rateLimitHeaders } from './rate-limit.js';
export { keepScheduled } from './schedulers.js';
export {
  answerExpectations,
  clientErrorHandler,
  CONTROL_CHARACTERS,
  CONTROL_CHARACTERS_BUT_WHITESPACE,
  installStrictInput,
  jsonDepth,
  MAX_JSON_DEPTH,
  parseJsonBody,
  type StrictInputOptions,
} from './strict-input.js';
export { ERROR_CODE_LIST, ERROR_CODES, type ErrorCode, ProblemDto, ProblemFieldErrorDto } from './problem.dto.js';
export {
  ADMIN_ERRORS,
  ApiErrors,
  ApiIdempotencyKey,
  ApiOwnerIdParam,
  BODY_ERRORS,
  GATEWAY_ERRORS,
  IDEMPOTENT_ERRORS,
  IDEMPOTENT_REPLAY_HEADERS,
  NO_BODY_ERRORS,
  OWNER_ID_DESCRIPTION,
  OWNER_ID_PATTERN,
  SIGNED_TOKEN_AMOUNT_PATTERN,
  TOKEN_AMOUNT_NOTE,
  TOKEN_AMOUNT_PATTERN,
} from './api-docs.js';
export { buildOpenApi } from './openapi.js';
export { FastRedis } from './fast-redis.js';
export { clusterUrl, hasHashTag, parseRedisUrl, redactedRedisUrl, redisClient, type RedisTarget, SettlingCluster } from './redis-target.js';
export { boundWorkerClose, type ClosableWorker, WORKER_CLOSE_GRACE_MS, WorkerShutdown } from './worker-shutdown.js';
export { READ_APPLICATION_NAME } from './data-source.js';
export { BACKOFF_JITTER, backoffDelay, MAX_BACKOFF_MS } from './webhooks/backoff.js';
export { postWebhook, type PostOptions, WebhookTimeoutError } from './webhooks/http-post.js';
export { SIGNATURE_HEADER, signPayload, verifySignature } from './webhooks/signature.js';
export {
  assertWebhookUrlAllowed,
  checkWebhookUrl,
  guardedLookup,
  isPrivateAddress,
  MAX_WEBHOOK_URL_LENGTH,
  type Resolver,
  systemResolver,
  WebhookAddressRefusedError,
  type WebhookUrlCheck,
} from './webhooks/url-guard.js';
export {
  EnumProp,
  InstantProp,
  IntProp,
  JsonObjectProp,
  NextCursorProp,
  StringProp,
  TOKEN_STRING_PATTERN,
  TokensProp,
  USD_STRING_PATTERN,
  UsdProp,
} from './view-props.js';
export { HealthCheckDto, HealthReportDto } from './health.dto.js';
export { CreatedAt, LOCATION_HEADER, LocationInterceptor, type LocationOf, segment } from './location.js';
