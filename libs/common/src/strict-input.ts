import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { DomainError, Errors } from './errors.js';
import { exponentMessage, findExponentNumber, findInexactNumber, inexactMessage } from './json-numbers.js';
import { PROBLEM_CONTENT_TYPE, problemOf } from './problem.filter.js';
import { requestPath } from './request-path.js';

/*
 * Spec section 8, enforced for every route before any handler runs: what
 * reaches a controller is JSON with a known shape, and no control character
 * that PostgreSQL would choke on (a NUL in text is a driver error, i.e. a 500).
 */

/** U+0000–U+001F and U+007F: never in a path, a header, a query or a plain string field. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/** Free text (a prompt, a reason, metadata) may hold tabs and line breaks, and no other control character. */
// eslint-disable-next-line no-control-regex -- as above
export const CONTROL_CHARACTERS_BUT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Deeper JSON is refused before class-transformer and the fingerprint recurse into it. */
export const MAX_JSON_DEPTH = 32;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function invalid(field: string, message: string): DomainError {
  return Errors.validation(message, [{ field, message }]);
}

/** `application/json; charset=utf-8` -> `application/json`; null without the header. */
function mediaType(header: string | undefined): string | null {
  return header === undefined ? null : header.split(';', 1)[0].trim().toLowerCase();
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0);
}

function checkHeaders(req: FastifyRequest): void {
  // rawHeaders: every value as sent, duplicates included (req.headers joins or drops them).
  const raw = req.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (CONTROL_CHARACTERS.test(raw[i + 1])) {
      throw invalid(raw[i], `The ${raw[i]} header must not contain control characters`);
    }
  }
}

function checkPath(url: string): void {
  for (const segment of requestPath(url).split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw invalid('path', 'The path is not valid percent-encoded UTF-8');
    }
    if (CONTROL_CHARACTERS.test(decoded)) throw invalid('path', 'A path parameter must not contain control characters');
  }
}

function checkQuery(req: FastifyRequest): void {
  for (const [key, value] of Object.entries(req.query as Record<string, unknown>)) {
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    if (CONTROL_CHARACTERS.test(key) || values.some((v) => typeof v === 'string' && CONTROL_CHARACTERS.test(v))) {
      throw invalid(key, `The query parameter ${JSON.stringify(key)} must not contain control characters`);
    }
  }
}

/** Nesting depth of parsed JSON, without recursion (a hostile body must not overflow the stack). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) max = depth;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * A POST, PUT or PATCH body is JSON or nothing. Text/plain with `{"amount":"1"}`
 * is not read as "no body" (which would settle everything), it is a 415.
 * Checked before the body is read, so a refused body is never buffered.
 */
function checkBodyType(req: FastifyRequest): void {
  const type = mediaType(req.headers['content-type']);
  if (type !== null && type !== 'application/json') {
    throw Errors.unsupportedMediaType(`The body must be application/json, not ${JSON.stringify(type.slice(0, 100))}`);
  }
  // A body without a Content-Type would otherwise be ignored.
  if (type === null && hasBody(req)) throw Errors.unsupportedMediaType('A request body must be sent with Content-Type: application/json');
  const encoding = req.headers['content-encoding'];
  if (type !== null && encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw Errors.unsupportedMediaType(`The body must not be sent with Content-Encoding ${JSON.stringify(encoding.slice(0, 100))}`);
  }
}

function checkBodyShape(body: unknown): void {
  if (body === undefined) return;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'The body must be a JSON object');
  if (jsonDepth(body) > MAX_JSON_DEPTH) throw invalid('body', `The body must not nest deeper than ${MAX_JSON_DEPTH} levels`);
}

/** `charset=latin1` cannot be read as JSON (RFC 8259: UTF-8); no charset means UTF-8. */
function checkCharset(header: string | undefined): void {
  const m = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(header ?? '');
  if (m && m[1].toLowerCase() !== 'utf-8') throw Errors.unsupportedMediaType(`Unsupported charset "${m[1].toUpperCase().slice(0, 40)}"`);
}

const MALFORMED_JSON = () => new DomainError(400, 'malformed_json', 'Malformed JSON', 'The request body is not valid JSON');

/**
 * JSON as the API reads it: no number with an exponent (spec section 2) or
 * with more digits than a double keeps (read as sent or refused), an
 * object or an array at the top (as body-parser's strict mode), and no
 * "__proto__" key, which would become an object's prototype once copied into a DTO.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) return {};
  const token = findExponentNumber(text);
  if (token) throw Errors.validation(exponentMessage(token));
  const inexact = findInexactNumber(text);
  if (inexact) throw Errors.validation(inexactMessage(inexact));
  // eslint-disable-next-line no-control-regex -- JSON's whitespace, as body-parser's strict mode
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw MALFORMED_JSON();
  try {
    return JSON.parse(text, (k: string, v: unknown) => {
      if (k === '__proto__') throw new SyntaxError('forbidden key');
      return v;
    }) as unknown;
  } catch {
    throw MALFORMED_JSON();
  }
}

/** Runs a check for a callback-style hook (cheaper than an async one): the error it threw, or undefined. */
function attempt(check: () => unknown): Error | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

export interface StrictInputOptions {
  /** Route patterns that take the raw bytes (the Stripe webhook): their body is a Buffer, not JSON-checked. */
  rawBodyRoutes?: string[];
  /** Bytes, for JSON bodies. */
  jsonLimit: number;
  /** Bytes, for the raw-body routes. */
  rawLimit: number;
  /** Route patterns whose JSON body may be larger than `jsonLimit` (image edits carry base64 images), with their limit. */
  jsonLimitByRoute?: Record<string, number>;
}

/**
 * The input rules of spec section 8 for every route, as Fastify hooks and the
 * only body parser: control characters are refused as the request arrives,
 * the body type before the body is read, its shape before any handler runs.
 */
export function installStrictInput(fastify: FastifyInstance, options: StrictInputOptions): void {
  const raw = new Set(options.rawBodyRoutes ?? []);
  const isRaw = (req: FastifyRequest) => raw.has(req.routeOptions.url ?? '');
  const byRoute = new Map(Object.entries(options.jsonLimitByRoute ?? {}));
  const jsonLimitOf = (req: FastifyRequest) => byRoute.get(req.routeOptions.url ?? '') ?? options.jsonLimit;
  const parserLimit = Math.max(options.jsonLimit, options.rawLimit, ...byRoute.values());
  fastify.addHook('onRequest', (req, _reply, done) =>
    done(
      attempt(() => {
        checkHeaders(req);
        checkPath(req.url);
        checkQuery(req);
      }),
    ),
  );
  fastify.addHook('preParsing', (req, _reply, payload, done) =>
    done(
      // The raw-body route too (Stripe sends application/json): its bytes are kept, its type is checked.
      attempt(() => BODY_METHODS.has(req.method) && checkBodyType(req)),
      payload,
    ),
  );
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: parserLimit }, (req, body, done) => {
    const bytes = body as Buffer;
    try {
      if (isRaw(req)) {
        checkCharset(req.headers['content-type']);
        return done(null, bytes);
      }
      // Another method's body (DELETE, OPTIONS) of another type is ignored, as no route reads it.
      if (mediaType(req.headers['content-type']) !== 'application/json') return done(null, undefined);
      if (bytes.length > jsonLimitOf(req))
        throw new DomainError(413, 'payload_too_large', 'Payload too large', 'The request body is too large');
      checkCharset(req.headers['content-type']);
      done(null, parseJsonBody(bytes.toString('utf8')));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  fastify.addHook('preValidation', (req, _reply, done) =>
    done(attempt(() => BODY_METHODS.has(req.method) && !isRaw(req) && checkBodyShape(req.body))),
  );
}

/**
 * Requests Node's HTTP parser refuses (a control character in a header, a
 * malformed request line, oversized headers) and an Expect header other than
 * 100-continue are answered as problem+json too, instead of Node's bare
 * "400 Bad Request" or "417 Expectation Failed".
 */
export function answerExpectations(server: Server): void {
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(
      problemOf(new DomainError(417, 'expectation_failed', 'Expectation failed', 'Only "Expect: 100-continue" is supported')),
    );
    res.writeHead(417, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
}

/** Fastify's `clientErrorHandler`: what Node's HTTP parser refused, as problem+json (see above). */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new DomainError(431, 'headers_too_large', 'Request header fields too large', 'The request headers are too large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new DomainError(408, 'request_timeout', 'Request timeout', 'The request headers did not arrive in time')
        : new DomainError(400, 'bad_request', 'Bad request', 'The request is not valid HTTP (a control character in a header?)');
  const body = JSON.stringify(problemOf(error));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
