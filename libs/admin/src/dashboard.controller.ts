import { Errors, RequireScope } from '@app/common';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
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
  ['reports.js', 'text/javascript; charset=utf-8'],
  ['chart.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
  ['views.css', 'text/css; charset=utf-8'],
]);

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

/** The admin dashboard: a static page that calls the admin API with the key typed into it (not part of the API document). */
@ApiExcludeController()
@Controller('admin')
@RequireScope('public')
export class DashboardController {
  @Get()
  async index(@Res() res: Response): Promise<void> {
    secureHeaders(res);
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/html; charset=utf-8').send(await readFile(new URL('index.html', DASHBOARD_DIR)));
  }

  @Get('assets/:file')
  async asset(@Param('file') file: string, @Res() res: Response): Promise<void> {
    secureHeaders(res);
    const type = ASSETS.get(file);
    if (!type) throw Errors.notFound('not_found', `No dashboard asset ${file}`);
    // Revalidated on every load (ETag), so a deploy never leaves a stale script behind.
    res.setHeader('Cache-Control', 'no-cache');
    res.type(type).send(await readFile(new URL(file, DASHBOARD_DIR)));
  }
}
