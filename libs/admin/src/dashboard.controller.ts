import { Errors, RequireScope } from '@app/common';
import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * The static files of the admin dashboard, beside this file. The build
 * (swc) does not copy .html/.css, so the build script copies the folder into
 * dist as well; under Jest this URL points at the source folder.
 */
export const DASHBOARD_DIR = new URL('./dashboard/', import.meta.url);

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The only files served, with their content types: nothing else in the folder (or outside it) is reachable. */
const ASSETS: ReadonlyMap<string, string> = new Map([
  ['app.js', 'text/javascript; charset=utf-8'],
  ['api.js', 'text/javascript; charset=utf-8'],
  ['dom.js', 'text/javascript; charset=utf-8'],
  ['dialog.js', 'text/javascript; charset=utf-8'],
  ['wallet.js', 'text/javascript; charset=utf-8'],
  ['search.js', 'text/javascript; charset=utf-8'],
  ['generations.js', 'text/javascript; charset=utf-8'],
  ['reports.js', 'text/javascript; charset=utf-8'],
  ['chart.js', 'text/javascript; charset=utf-8'],
  ['controls.js', 'text/javascript; charset=utf-8'],
  ['prices.js', 'text/javascript; charset=utf-8'],
  ['hooks.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
  ['views.css', 'text/css; charset=utf-8'],
]);

function secureHeaders(res: FastifyReply): void {
  res.header('Content-Security-Policy', DASHBOARD_CSP);
  res.header('X-Content-Type-Options', 'nosniff');
  res.header('Referrer-Policy', 'no-referrer');
  res.header('X-Frame-Options', 'DENY');
  res.header('Cross-Origin-Opener-Policy', 'same-origin');
}

/** A strong ETag of the file's bytes; a matching If-None-Match is a 304 without the body. */
async function sendWithEtag(res: FastifyReply, ifNoneMatch: string | undefined, type: string, body: Buffer): Promise<void> {
  const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
  res.header('ETag', etag);
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    await res.status(304).send();
    return;
  }
  await res.type(type).send(body);
}

/** The admin dashboard: a static page that calls the admin API with the key typed into it (not part of the API document). */
@ApiExcludeController()
@Controller('admin')
@RequireScope('public')
export class DashboardController {
  @Get()
  async index(@Res() res: FastifyReply): Promise<void> {
    secureHeaders(res);
    res.header('Cache-Control', 'no-store');
    await res.type('text/html; charset=utf-8').send(await readFile(new URL('index.html', DASHBOARD_DIR)));
  }

  @Get('assets/:file')
  async asset(
    @Param('file') file: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: FastifyReply,
  ): Promise<void> {
    secureHeaders(res);
    const type = ASSETS.get(file);
    if (!type) throw Errors.notFound('not_found', `No dashboard asset ${file}`);
    // Revalidated on every load (ETag), so a deploy never leaves a stale script behind.
    res.header('Cache-Control', 'no-cache');
    await sendWithEtag(res, ifNoneMatch, type, await readFile(new URL(file, DASHBOARD_DIR)));
  }
}
