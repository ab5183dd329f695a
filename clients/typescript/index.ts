/**
 * A typed client of the token-wallet HTTP API: openapi-fetch over the types
 * that openapi-typescript generates from docs/openapi.json (schema.d.ts; run
 * `npm run client` after `npm run openapi`). Every path, parameter, body,
 * success body and error `code` is typed from the document.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];

export interface TokenWalletOptions {
  /** The instance, e.g. http://localhost:3000. */
  baseUrl: string;
  /** An API key (`npm run cli -- api-key create --name N --scope gateway`). */
  apiKey: string;
  /** Another fetch (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

/** A client whose every call sends the key as `Authorization: Bearer`. */
export function createTokenWalletClient(options: TokenWalletOptions): Client<paths> {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
