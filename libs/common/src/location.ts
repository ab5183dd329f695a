import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';

const LOCATION_KEY = 'tw:location';

/** Where the resource a 201 (or 202) made can be read, from the response body; null: nowhere. */
export type LocationOf = (body: Record<string, unknown>) => string | null;

/**
 * The `Location` of a route's 201 and 202 responses (RFC 9110 section 10.2.2):
 * the URL of what it created, or of where its progress is read. Replays of
 * an idempotent request get it too (same status, same body, same Location).
 */
export const CreatedAt = (of: LocationOf) => applyDecorators(SetMetadata(LOCATION_KEY, of));

/** The Location header as the OpenAPI document shows it (spread into an ApiResponse's `headers`). */
export const LOCATION_HEADER = {
  Location: { description: 'The URL of the resource this request created (or, on a 202, of its progress).', schema: { type: 'string' } },
};

/** An id as a path segment. */
export const segment = (v: unknown): string => encodeURIComponent(String(v));

@Injectable()
export class LocationInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const of = this.reflector.get<LocationOf | undefined>(LOCATION_KEY, ctx.getHandler());
    if (!of || ctx.getType() !== 'http') return next.handle();
    const http = ctx.switchToHttp();
    const res = http.getResponse<FastifyReply>();
    const method = http.getRequest<FastifyRequest>().method;
    // The status is final here when the handler set it (reply(), res.status); else Nest applies the
    // route's @HttpCode, or 201 for a POST, after the interceptors.
    const fallback = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, ctx.getHandler()) ?? (method === 'POST' ? 201 : 200);
    return next.handle().pipe(
      map((body: unknown) => {
        const status = res.statusCode !== 200 ? res.statusCode : fallback;
        if ((status === 201 || status === 202) && body && typeof body === 'object') {
          const url = of(body as Record<string, unknown>);
          if (url) void res.header('Location', url);
        }
        return body;
      }),
    );
  }
}
