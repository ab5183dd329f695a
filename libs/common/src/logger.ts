import { Logger as NestPinoLogger, type PinoLogger } from 'nestjs-pino';
import { pino, type Logger } from 'pino';

/** Headers that carry secrets: never written to a log line. */
export const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["stripe-signature"]', 'res.headers["set-cookie"]'];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'token-wallet' } }, destination);
}

/**
 * Nest's own start-up chatter: which module loaded, which route is mapped
 * (80 lines on every start), "application started". Useful when debugging
 * routing, noise otherwise: logged at debug.
 */
const CHATTY_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

/**
 * Nest's logger interface over our pino instance, through nestjs-pino's
 * Logger (its handling of contexts, errors and Nest's exception-handler
 * calls), so framework messages are JSON lines too. It wraps the process's
 * own pino logger rather than nestjs-pino's module-wide root one, so each app
 * (and each test's app) logs where its logger writes.
 */
export class PinoNestLogger extends NestPinoLogger {
  constructor(pinoLogger: Logger) {
    // nestjs-pino's Logger calls only pino's level methods on it: a pino Logger has them.
    super(pinoLogger as unknown as PinoLogger, {});
  }
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && CHATTY_CONTEXTS.has(context)) super.debug(message, ...optionalParams);
    else super.log(message, ...optionalParams);
  }
}
