import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { DomainError, Errors } from './errors.js';
import { PROBLEM_CONTENT_TYPE, problemOf } from './problem.filter.js';

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

/** Express matches routes case-insensitively and ignores a trailing slash: so does this. */
function normalizedPath(path: string): string {
  return path.toLowerCase().replace(/\/+$/, '') || '/';
}

/** `application/json; charset=utf-8` -> `application/json`; null without the header. */
function mediaType(header: string | undefined): string | null {
  return header === undefined ? null : header.split(';', 1)[0].trim().toLowerCase();
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0);
}

function checkHeaders(req: Request): void {
  // rawHeaders: every value as sent, duplicates included (req.headers joins or drops them).
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (CONTROL_CHARACTERS.test(req.rawHeaders[i + 1])) {
      throw invalid(req.rawHeaders[i], `The ${req.rawHeaders[i]} header must not contain control characters`);
    }
  }
}

function checkPath(req: Request): void {
  for (const segment of req.path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw invalid('path', 'The path is not valid percent-encoded UTF-8');
    }
    if (CONTROL_CHARACTERS.test(decoded)) throw invalid('path', 'A path parameter must not contain control characters');
  }
}

function checkQuery(req: Request): void {
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
 */
function checkBody(req: Request): void {
  const type = mediaType(req.headers['content-type']);
  if (type !== null && type !== 'application/json') {
    throw Errors.unsupportedMediaType(`The body must be application/json, not ${JSON.stringify(type.slice(0, 100))}`);
  }
  const body: unknown = req.body;
  // A body the JSON parser did not read (no Content-Type, or one it could not parse) would be ignored.
  if (hasBody(req) && (type === null || body === undefined)) {
    throw Errors.unsupportedMediaType('A request body must be sent with Content-Type: application/json');
  }
  if (body === undefined) return;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'The body must be a JSON object');
  if (jsonDepth(body) > MAX_JSON_DEPTH) throw invalid('body', `The body must not nest deeper than ${MAX_JSON_DEPTH} levels`);
}

export interface StrictInputOptions {
  /** Routes that take the raw bytes (the Stripe webhook): their body is not JSON-checked. */
  rawBodyPaths?: string[];
}

/** The input rules of spec section 8, as one middleware after the body parsers, for every route. */
export function strictInput(options: StrictInputOptions = {}): RequestHandler {
  const raw = new Set((options.rawBodyPaths ?? []).map(normalizedPath));
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      checkHeaders(req);
      checkPath(req);
      checkQuery(req);
      if (BODY_METHODS.has(req.method) && !raw.has(normalizedPath(req.path))) checkBody(req);
      next();
    } catch (e) {
      next(e);
    }
  };
}

/**
 * Requests Node's HTTP parser refuses (a control character in a header, a
 * malformed request line, oversized headers) and an Expect header other than
 * 100-continue are answered as problem+json too, instead of Node's bare
 * "400 Bad Request" or "417 Expectation Failed".
 */
export function answerClientErrors(server: Server): void {
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(
      problemOf(new DomainError(417, 'expectation_failed', 'Expectation failed', 'Only "Expect: 100-continue" is supported')),
    );
    res.writeHead(417, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
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
  });
}
