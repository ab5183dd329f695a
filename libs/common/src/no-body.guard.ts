import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import type { FastifyRequest } from 'fastify';
import { Errors } from './errors.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Handlers that read the body: through @Body() or, like the Stripe webhook, the whole @Req(). */
const READS_BODY = [RouteParamtypes.BODY, RouteParamtypes.REQUEST, RouteParamtypes.RAW_BODY].map((t) => `${t}:`);

/**
 * Unknown fields are errors (the validation pipe forbids them), on routes
 * without a body too: `{"amount": "1"}` on release, or `{"status": "frozen"}`
 * on PUT /v1/wallets/{owner_id}, is a 400 rather than silently dropped. An
 * empty object is no body.
 */
@Injectable()
export class NoBodyGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const body: unknown = req.body;
    if (!BODY_METHODS.has(req.method) || body === null || typeof body !== 'object' || Buffer.isBuffer(body)) return true;
    const fields = Object.keys(body);
    if (!fields.length) return true;
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, ctx.getClass(), ctx.getHandler().name) ?? {}) as Record<string, unknown>;
    if (Object.keys(args).some((k) => READS_BODY.some((p) => k.startsWith(p)))) return true;
    throw Errors.validation(
      'This route takes no body',
      fields.slice(0, 20).map((field) => ({ field, message: `property ${field} should not exist` })),
    );
  }
}
