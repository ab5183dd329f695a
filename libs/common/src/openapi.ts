import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { HealthCheckDto } from './health.dto.js';
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
    // Where the service runs is the deployment's choice: the origin is a variable, a local instance by default.
    .addServer('{origin}', 'An instance of the service (npm start serves http://localhost:3000)', {
      origin: { default: 'http://localhost:3000', description: 'The scheme, host and port of the instance' },
    })
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      // Keys are opaque random strings (tw_gw_..., tw_ad_...), looked up by their hash: not JWTs.
      bearerFormat: 'opaque API key',
      description: 'An API key of scope gateway or admin (`npm run cli -- api-key create`).',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto, ProblemFieldErrorDto, HealthCheckDto] });
  // An internal service, not open source: UNLICENSED in npm's sense (no rights granted), linked to where npm defines it.
  document.info.license = { name: 'UNLICENSED', url: 'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license' };
  // Routes without a key (health, metrics, the Stripe webhook) say so: an empty security list, not none.
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = item[method];
      if (op && !op.security) op.security = [];
    }
  }
  return document;
}
