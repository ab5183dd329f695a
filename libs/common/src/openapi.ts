import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ProblemDto, ProblemFieldErrorDto } from './problem.dto.js';

const DESCRIPTION = `A token-metered billing and wallet-ledger service. Every end user has one prepaid wallet of tokens; a generation reserves tokens, then settles what was delivered or releases the rest.

**Units.** 1 token = $0.10. Responses give token amounts as decimal strings with exactly three decimals ("3.540"); requests take a decimal string or a JSON number with at most three decimals (an exponent, more decimals, NaN or an out-of-range value is a 400 validation_error). Value is kept as integer millitokens in a double-entry ledger.

**Auth.** \`Authorization: Bearer <api key>\`. Keys have scope \`gateway\` or \`admin\`; an admin key may also call gateway routes. A missing or unknown key is 401 unauthorized, a gateway key on an admin route 403 forbidden, too many requests a minute 429 rate_limited (with Retry-After). The health, metrics and Stripe webhook routes take no key.

**Idempotency.** Every value-moving request needs an \`Idempotency-Key\` header (1-255 printable characters, scoped per API key): a retry with the same key and body gets the stored response (same status and body, header \`Idempotent-Replayed: true\`); the same key with a different body is 409 idempotency_key_reused.

**Errors.** \`application/problem+json\`: \`{type, title, status, detail, code, errors?}\` (the Problem schema) with a stable \`code\` to branch on; each route lists the codes it can answer.`;

/** The OpenAPI document of the HTTP API, built from the controllers' and DTOs' decorators. */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('token-wallet')
    .setVersion('1')
    .setDescription(DESCRIPTION)
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'An API key of scope gateway or admin (`npm run cli -- api-key create`).',
    })
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto, ProblemFieldErrorDto] });
}
