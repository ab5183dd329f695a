import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

/**
 * Every stable `code` an error response can carry, with its HTTP status and
 * what it means. The OpenAPI document is built from this table (the Problem
 * schema's `code` enum and each route's error responses), so a code thrown
 * anywhere must be listed here.
 */
export const ERROR_CODES = {
  validation_error: { status: 400, meaning: 'a body field, query or path parameter or header is invalid; `errors` names the fields' },
  malformed_json: { status: 400, meaning: 'the body is not valid JSON' },
  invalid_signature: { status: 400, meaning: 'the Stripe-Signature header is missing, wrong or stale' },
  invalid_event: {
    status: 400,
    meaning:
      'a signed Stripe event without what it must carry (id, type, created, data.object, its amounts), or with a value that cannot be stored',
  },
  bad_request: { status: 400, meaning: 'the request is otherwise malformed' },
  unauthorized: { status: 401, meaning: 'no API key, or an unknown or revoked one' },
  forbidden: { status: 403, meaning: 'the API key lacks the scope the route needs (admin)' },
  not_found: { status: 404, meaning: 'no such route' },
  wallet_not_found: { status: 404, meaning: 'no wallet for this owner_id (create it with PUT /v1/wallets/{owner_id})' },
  reservation_not_found: { status: 404, meaning: 'no reservation with this id' },
  variant_not_found: { status: 404, meaning: 'no active price-list variant with this id, or it cannot generate images' },
  model_not_found: { status: 404, meaning: 'no price-list variant belongs to this model' },
  generation_not_found: { status: 404, meaning: 'no generation with this id' },
  batch_not_found: { status: 404, meaning: 'no batch with this id' },
  pack_not_found: { status: 404, meaning: 'no pack with this id in the billing catalog' },
  plan_not_found: { status: 404, meaning: 'no plan with this id in the billing catalog' },
  budget_not_found: { status: 404, meaning: 'the wallet has no budget with this name' },
  alert_not_found: { status: 404, meaning: 'the wallet has no alert with this name' },
  api_key_not_found: { status: 404, meaning: 'no API key with this id' },
  webhook_endpoint_not_found: { status: 404, meaning: 'no webhook endpoint with this name' },
  payment_not_found: { status: 404, meaning: 'no Stripe payment credited, and no auto top-up tried, with this payment intent id' },
  customer_not_found: { status: 404, meaning: 'no wallet has this Stripe customer id' },
  method_not_allowed: { status: 405, meaning: 'the route does not take this method' },
  request_timeout: { status: 408, meaning: 'the request headers did not arrive in time' },
  reservation_not_pending: { status: 409, meaning: 'the reservation is already settled, released or expired' },
  reservation_expired: { status: 409, meaning: 'the reservation lapsed; its tokens return to the wallet' },
  reservation_held: {
    status: 409,
    meaning: "the reservation is a generation's: the generation settles it for what it delivers (release cancels it)",
  },
  idempotency_key_reused: { status: 409, meaning: 'this Idempotency-Key was already used with a different request' },
  idempotency_key_in_flight: { status: 409, meaning: 'a request with this Idempotency-Key is still being processed; retry shortly' },
  budget_in_use: { status: 409, meaning: 'alerts watch this budget; delete them first' },
  payload_too_large: { status: 413, meaning: 'the body is over the size limit (256 kB; 8 MiB for POST /v1/image/edits)' },
  input_image_too_large: { status: 413, meaning: 'an input image of an edit is over 4 MiB, decoded or as fetched from its URL' },
  unsupported_media_type: { status: 415, meaning: 'the body is not application/json, or its charset or encoding is not supported' },
  headers_too_large: { status: 431, meaning: 'the request headers are over the size limit' },
  expectation_failed: { status: 417, meaning: 'the Expect header asks for something other than 100-continue' },
  amount_exceeds_reservation: { status: 422, meaning: 'the amount to settle is more than the reservation holds' },
  refund_exceeds_charge: { status: 422, meaning: 'the refund is more than was charged and not yet refunded' },
  adjustment_exceeds_balance: { status: 422, meaning: 'the debit would take a bucket below zero' },
  payment_method_required: {
    status: 422,
    meaning: 'auto top-up needs a saved payment method: a pack Checkout with save_payment_method, or a setup session',
  },
  price_not_found: {
    status: 422,
    meaning: 'the variant has no price for this combination of dimensions (size, quality, input_images); nothing was reserved',
  },
  zero_price: { status: 422, meaning: 'the variant is free, so there is nothing to reserve' },
  variant_not_metered: { status: 422, meaning: 'an estimate was given for a variant that is not metered (reserve it by quantity)' },
  meter_not_priced: {
    status: 422,
    meaning: 'the estimate or usage names a field (input_tokens, seconds, ...) the variant has no meter for',
  },
  empty_estimate: { status: 422, meaning: 'the estimate costs nothing, so there is nothing to reserve' },
  usage_required: { status: 422, meaning: 'the reservation is metered: settle it with {usage}, not an amount or no body' },
  reservation_not_metered: {
    status: 422,
    meaning: 'usage was given to settle a reservation that is not metered (settle it with {amount})',
  },
  insufficient_funds: { status: 402, meaning: 'the wallet has too few available tokens; `detail` says how many it has' },
  budget_exceeded: {
    status: 402,
    meaning: 'the reservation would take a budget past its limit; `detail` names the budget, its limit, what is used and when it resets',
  },
  wallet_frozen: { status: 423, meaning: 'the wallet is frozen: spending is blocked' },
  rate_limited: { status: 429, meaning: 'the API key made too many requests this minute; see the Retry-After header' },
  internal_error: { status: 500, meaning: 'an unexpected error' },
  http_error: { status: 500, meaning: 'another HTTP error of the framework (the status says which)' },
  queue_unavailable: { status: 503, meaning: 'the job queue (Redis) is down; nothing was reserved, retry later' },
  stripe_not_configured: { status: 503, meaning: 'the service has no STRIPE_SECRET_KEY' },
  wallet_busy: {
    status: 503,
    meaning:
      'the wallet is busy with other operations (its lock was not free within 2 s); nothing was applied, retry with the same Idempotency-Key',
  },
  database_unavailable: { status: 503, meaning: 'the database is unavailable; nothing was applied, retry with the same Idempotency-Key' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

@ApiSchema({ name: 'ProblemFieldError', description: 'One invalid field of a validation_error.' })
export class ProblemFieldErrorDto {
  @ApiProperty({ description: 'The field, query parameter or header at fault.', example: 'amount' })
  field!: string;

  @ApiProperty({ description: 'What is wrong with it.', example: 'amount must have at most 3 decimal places' })
  message!: string;
}

@ApiSchema({
  name: 'Problem',
  description: 'An error, as application/problem+json (RFC 9457) with a stable machine-readable `code`.',
})
export class ProblemDto {
  @ApiProperty({
    description: 'A URI naming the problem type: urn:token-wallet:problem:<code>.',
    example: 'urn:token-wallet:problem:insufficient_funds',
  })
  type!: string;

  @ApiProperty({ description: 'A short human-readable summary of the problem type.', example: 'Insufficient funds' })
  title!: string;

  @ApiProperty({ type: 'integer', description: 'The HTTP status code, repeated.', example: 402 })
  status!: number;

  @ApiProperty({
    description: 'What went wrong in this occurrence, for humans (do not parse it).',
    example: 'Wallet user_42 has 1.500 tokens available; 3.000 were requested',
  })
  detail!: string;

  @ApiProperty({
    description: `The stable code to branch on. Codes (status: meaning):\n${ERROR_CODE_LIST.map((c) => `- \`${c}\` (${ERROR_CODES[c].status}): ${ERROR_CODES[c].meaning}`).join('\n')}\n\nNew codes may be added: treat an unknown one by its status.`,
    enum: ERROR_CODE_LIST,
    example: 'insufficient_funds',
  })
  code!: ErrorCode;

  @ApiPropertyOptional({ description: 'The invalid fields, on a validation_error.', type: [ProblemFieldErrorDto] })
  errors?: ProblemFieldErrorDto[];
}
