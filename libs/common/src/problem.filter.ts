import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { DomainError, Errors, FieldError } from './errors.js';
import { ledgerOperations } from './metrics.js';
import { RateLimited, rateLimitHeaders } from './rate-limit.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemOf(e: DomainError): Problem {
  const p: Problem = { type: `urn:token-wallet:problem:${e.code}`, title: e.title, status: e.status, detail: e.detail, code: e.code };
  if (e.errors?.length) p.errors = e.errors;
  if (e.extensions) return { ...e.extensions, ...p };
  return p;
}

/** Framework HTTP errors (unknown route, malformed JSON, oversized body) as stable codes. */
function fromHttpException(e: HttpException): DomainError {
  const status = e.getStatus();
  const body = e.getResponse() as { message?: unknown } | string;
  const message =
    typeof body === 'string'
      ? body
      : Array.isArray(body.message)
        ? body.message.join('; ')
        : typeof body.message === 'string'
          ? body.message
          : e.message;
  const code =
    {
      400: 'bad_request',
      401: 'unauthorized',
      403: 'forbidden',
      404: 'not_found',
      405: 'method_not_allowed',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
      429: 'rate_limited',
    }[status] ?? (status >= 500 ? 'internal_error' : 'http_error');
  return new DomainError(status, code, STATUS_CODES[status] ?? 'Error', message);
}

/** Fastify's own errors (FST_ERR_CTP_*, FST_ERR_BAD_URL) carry `code` and `statusCode` rather than being HttpExceptions. */
function fromFastify(e: unknown): DomainError | null {
  const err = e as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof err?.code !== 'string' || !err.code.startsWith('FST_') || typeof err.statusCode !== 'number') return null;
  const message = String(err.message);
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new DomainError(413, 'payload_too_large', 'Payload too large', 'The request body is too large');
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return new DomainError(400, 'malformed_json', 'Malformed JSON', 'The request body is not valid JSON');
  if (err.statusCode === 415) return new DomainError(415, 'unsupported_media_type', 'Unsupported media type', message);
  if (err.code === 'FST_ERR_BAD_URL')
    return Errors.validation('The path is not valid percent-encoded UTF-8', [
      { field: 'path', message: 'The path is not valid percent-encoded UTF-8' },
    ]);
  if (err.statusCode >= 500) return null;
  return new DomainError(err.statusCode, 'bad_request', 'Bad request', message);
}

/**
 * PostgreSQL restarting or unreachable: a 503 the client may retry (with the
 * same Idempotency-Key), not a 500. The transaction rolled back, nothing applied.
 */
function databaseDown(e: unknown): DomainError | null {
  const err = e as { code?: unknown; driverError?: { code?: unknown }; message?: unknown; name?: unknown };
  const rawCode = err?.driverError?.code ?? err?.code;
  const code = typeof rawCode === 'string' ? rawCode : '';
  const message = typeof err?.message === 'string' ? err.message : '';
  const down =
    // TypeORM releases a transaction's runner when its connection dies mid-transaction.
    err?.name === 'QueryRunnerAlreadyReleasedError' ||
    ['57P01', '57P02', '57P03', '08000', '08003', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code) ||
    /Connection terminated|connection timeout|terminating connection|Client has encountered a connection error/i.test(message);
  return down
    ? new DomainError(
        503,
        'database_unavailable',
        'Service unavailable',
        'The database is unavailable; nothing was applied. Retry with the same Idempotency-Key.',
      )
    : null;
}

const PROBLEM_CODE = Symbol('problemCode');

/** The `code` of the problem a request was answered with, for its log line. */
export function problemCodeOf(req: FastifyRequest): string | undefined {
  return (req as FastifyRequest & { [PROBLEM_CODE]?: string })[PROBLEM_CODE];
}

/** Answers `err` as problem+json on a Fastify reply (the filter, and Fastify's framework errors). */
export function sendProblem(reply: FastifyReply, err: DomainError): void {
  ledgerOperations.inc({ type: 'request', outcome: err.code });
  if (reply.sent) return;
  (reply.request as FastifyRequest & { [PROBLEM_CODE]?: string })[PROBLEM_CODE] = err.code;
  if (err instanceof RateLimited) void reply.header('Retry-After', String(err.retryAfterS)).headers(rateLimitHeaders(err.state));
  // RFC 9110 section 11.6.1: a 401 names the scheme that would succeed (RFC 6750 for bearer tokens).
  if (err.status === 401) void reply.header('WWW-Authenticate', 'Bearer realm="token-wallet"');
  void reply
    .status(err.status)
    .type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .send(JSON.stringify(problemOf(err)));
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest | undefined>();
    let err: DomainError;
    if (exception instanceof DomainError) err = exception;
    else if (exception instanceof HttpException) err = fromHttpException(exception);
    else
      err =
        fromFastify(exception) ??
        databaseDown(exception) ??
        new DomainError(500, 'internal_error', 'Internal server error', 'An unexpected error occurred');
    if (err.status >= 500) {
      const e = exception as Error;
      this.logger.error(`${req?.method} ${req?.url} request ${req?.id ?? '-'}: ${e?.message}`, e?.stack);
    }
    sendProblem(reply, err);
  }
}
