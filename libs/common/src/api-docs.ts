import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiParam, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode, ProblemDto } from './problem.dto.js';
import { PROBLEM_CONTENT_TYPE } from './problem.filter.js';

/*
 * OpenAPI helpers shared by the controllers and DTOs. The decorators only add
 * documentation metadata: validation stays with class-validator.
 */

/** A token amount in a request (spec section 2), as documented on every amount field. */
export const TOKEN_AMOUNT_NOTE =
  'A token amount (1 token = $0.10): a decimal string with at most 3 decimals ("3.540"), or a JSON number with at most 3 decimals (3.54). An exponent, more decimals, NaN or more than 1,000,000,000 tokens is a 400 validation_error.';
/** The string form of an unsigned token amount. */
export const TOKEN_AMOUNT_PATTERN = '^(0|[1-9][0-9]*)(\\.[0-9]{1,3})?$';
/** The string form of a signed token amount. */
export const SIGNED_TOKEN_AMOUNT_PATTERN = '^-?(0|[1-9][0-9]*)(\\.[0-9]{1,3})?$';

export const OWNER_ID_DESCRIPTION = "The gateway's user or org id: 1-128 characters of A-Z a-z 0-9 _ . : @ -.";
export const OWNER_ID_PATTERN = '^[A-Za-z0-9_.:@-]{1,128}$';

/** Errors every keyed route can answer, whatever it does. */
export const GATEWAY_ERRORS: ErrorCode[] = ['unauthorized', 'rate_limited', 'database_unavailable'];
/** Errors of an admin route: a gateway key is refused. */
export const ADMIN_ERRORS: ErrorCode[] = [...GATEWAY_ERRORS, 'forbidden'];
/** Errors of a route that takes a JSON body (any other Content-Type is a 415). */
export const BODY_ERRORS: ErrorCode[] = ['validation_error', 'malformed_json', 'payload_too_large', 'unsupported_media_type'];
/** Errors of a POST or PUT that takes no body: one sent anyway must be JSON (spec section 8). */
export const NO_BODY_ERRORS: ErrorCode[] = ['validation_error', 'unsupported_media_type'];
/** Errors of a value-moving route (Idempotency-Key missing or malformed: validation_error). */
export const IDEMPOTENT_ERRORS: ErrorCode[] = ['wallet_busy', 'validation_error', 'idempotency_key_reused', 'idempotency_key_in_flight'];

const int = { type: 'integer' } as const;
/** The headers of a keyed route's success: its API key's rate-limit window (IETF draft names). */
export const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': { description: 'Requests a minute this API key may make.', schema: int },
  'RateLimit-Remaining': { description: 'Requests left in the current window.', schema: int },
  'RateLimit-Reset': { description: 'Seconds until the window resets.', schema: int },
};
/** Headers that come with some error statuses. */
const ERROR_HEADERS: Record<number, Record<string, { description: string; schema: object }>> = {
  401: {
    'WWW-Authenticate': { description: 'Bearer realm="token-wallet": send an API key as a bearer token.', schema: { type: 'string' } },
  },
  429: { 'Retry-After': { description: 'Seconds until the window resets.', schema: int }, ...RATE_LIMIT_HEADERS },
};

/**
 * The error responses of a route: one per status, each a Problem whose
 * description names the codes (and what they mean) that this route can answer.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, list]) =>
      ApiResponse({
        status,
        description: list.map((c) => `- \`${c}\`: ${ERROR_CODES[c].meaning}`).join('\n'),
        ...(ERROR_HEADERS[status] ? { headers: ERROR_HEADERS[status] } : {}),
        // A Problem whose `code` is narrowed to this route's codes of this status, so a client can switch on it.
        content: {
          [PROBLEM_CONTENT_TYPE]: {
            schema: {
              allOf: [{ $ref: getSchemaPath(ProblemDto) }],
              type: 'object',
              required: ['code'],
              properties: { code: { type: 'string', enum: list } },
            },
          },
        },
      }),
    );
  return applyDecorators(ApiExtraModels(ProblemDto), ...responses);
}

/** The Idempotency-Key header of a value-moving request. */
export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description:
      'Makes the request safe to retry: 1-255 printable ASCII characters, unique per operation and API key. A retry with the same key and body gets the stored response (same status and body, header Idempotent-Replayed: true); the same key with a different body is 409 idempotency_key_reused. Missing or malformed: 400 validation_error.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]{1,255}$' },
    example: 'req-7f3c2a',
  });

/** The `owner_id` path parameter. */
export const ApiOwnerIdParam = () =>
  ApiParam({
    name: 'owner_id',
    description: OWNER_ID_DESCRIPTION,
    schema: { type: 'string', pattern: OWNER_ID_PATTERN },
    example: 'user_42',
  });

/** The response headers of a value-moving request's success (spread into `headers` of its ApiResponse). */
export const IDEMPOTENT_REPLAY_HEADERS = {
  'Idempotent-Replayed': {
    description: 'Present ("true") when this is the stored response of an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
};
