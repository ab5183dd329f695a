import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyService, Principal } from './api-key.service.js';
import type { Scope } from './entities/api-key.entity.js';
import { Errors } from './errors.js';
import { RateLimiter, rateLimitHeaders } from './rate-limit.js';

const SCOPE_KEY = 'tw:scope';
/** The scope a route needs; `admin` keys may also call `gateway` routes. */
export const RequireScope = (scope: Scope | 'public') => SetMetadata(SCOPE_KEY, scope);

export type AuthedRequest = FastifyRequest & { principal?: Principal };

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const needed = this.reflector.getAllAndOverride<Scope | 'public' | undefined>(SCOPE_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (needed === 'public') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header.trim()) : null;
    if (!m) throw Errors.unauthorized('Send the API key as "Authorization: Bearer <key>"');
    const principal = await this.keys.authenticate(m[1]);
    if (!principal) throw Errors.unauthorized('The API key is unknown or revoked');
    // Routes default to the stricter scope when they forget to declare one.
    const scope = needed ?? 'admin';
    if (scope === 'admin' && principal.scope !== 'admin') {
      throw Errors.forbidden(`This route needs an API key with scope admin; the key "${principal.name}" has scope ${principal.scope}`);
    }
    // A 429 carries the headers too (the problem filter writes them from the error).
    const window = await this.limiter.check(principal.id);
    if (window) void ctx.switchToHttp().getResponse<FastifyReply>().headers(rateLimitHeaders(window));
    req.principal = principal;
    return true;
  }
}

/** The authenticated key of the request (its name is the audit log's actor). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw Errors.unauthorized();
  return principal;
});
