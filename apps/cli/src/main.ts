import 'reflect-metadata';
import {
  type AppConfig,
  ApiKeyLookupError,
  ApiKeyService,
  ConfigError,
  createLogger,
  DomainError,
  EmbeddedPostgresError,
  formatTokens,
  loadConfig,
  prepareServices,
  type Scope,
} from '@app/common';
import { BillingService, ReconcileService } from '@app/billing';
import { MaintenanceService, VerifyService } from '@app/ledger';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliModule } from './cli.module.js';

/** Exit codes: 0 done, 1 the command failed (or found a broken ledger), 2 bad usage. */
const USAGE_ERROR = 2;

/** A failure the user can act on: printed as one line, without a stack trace. */
class CliError extends Error {}

/** "7d", "12h", "30m" -> the date that long ago. */
function parseSince(text: string): Date {
  const m = /^([0-9]{1,4})([dhm])$/.exec(text);
  if (!m) throw new InvalidArgumentError('takes a duration such as 7d, 12h or 30m');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  return new Date(Date.now() - Number(m[1]) * unit);
}

const out = (line: string) => process.stdout.write(`${line}\n`);

/** The config, PostgreSQL (migrated) and Redis; then `run` inside a Nest context of the domain modules. */
async function withApp<T>(
  run: (app: INestApplicationContext, config: AppConfig) => Promise<T>,
  needs?: (c: AppConfig) => void,
): Promise<T> {
  // Progress and results go to stdout; logs stay quiet unless asked for.
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const config = loadConfig();
  config.RUN_WORKER = false;
  needs?.(config);
  const services = await prepareServices(config, log);
  try {
    const app = await NestFactory.createApplicationContext(CliModule.register(config, log), { logger: false });
    try {
      return await run(app, config);
    } finally {
      await app.close();
    }
  } finally {
    await services.stop();
  }
}

/** Stripe commands need a key; say where it goes and how to use the bundled fake. */
function needsStripe(config: AppConfig): void {
  if (config.STRIPE_SECRET_KEY) return;
  throw new CliError(
    'Stripe is not configured: set STRIPE_SECRET_KEY (sk_test_... for test mode). To run against another API host, such as the bundled fake Stripe, also set STRIPE_API_BASE to its URL (e.g. http://127.0.0.1:12111 for stripe-mock).',
  );
}

/** A Stripe call that could not connect: name the host, and STRIPE_API_BASE. */
function stripeUnreachable(e: unknown, config: AppConfig): never {
  const err = e as { type?: string; message?: string };
  if (err?.type === 'StripeConnectionError' || /ECONNREFUSED|ENOTFOUND|connect/i.test(err?.message ?? ''))
    throw new CliError(
      `cannot reach Stripe at ${config.STRIPE_API_BASE ?? 'https://api.stripe.com'} (${err.message}). Check STRIPE_API_BASE, or unset it to use Stripe itself.`,
    );
  throw e;
}

function program(): Command {
  const cli = new Command('npm run cli --')
    .description('token-wallet operations: API keys, ledger checks, grants, Stripe, migrations')
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code = 0;
  cli.hook('postAction', () => {
    process.exitCode = code;
  });

  const apiKey = cli.command('api-key').description('create, list, revoke and rotate API keys').exitOverride();
  apiKey
    .command('create')
    .description('create an API key; it is printed once and stored only as a hash')
    .requiredOption('--name <name>', 'who uses it (the audit log names admin actions by it)')
    .addOption(
      new Option('--scope <scope>', 'gateway (the API) or admin (also the admin API)').choices(['gateway', 'admin']).makeOptionMandatory(),
    )
    .action(async (o: { name: string; scope: Scope }) => {
      await withApp(async (app) => {
        const { key, principal } = await app.get(ApiKeyService).create(o.name, o.scope);
        out(`Created ${principal.scope} key "${principal.name}" (${principal.id}). It is shown only once:\n${key}`);
      });
    });
  apiKey
    .command('list')
    .description('list the API keys (id, name, scope, first characters, created, revoked)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withApp(async (app) => {
        const keys = await app.get(ApiKeyService).list();
        if (o.json) return out(JSON.stringify(keys, null, 2));
        out(['id', 'name', 'scope', 'prefix', 'created_at', 'revoked_at'].join('\t'));
        for (const k of keys)
          out([k.id, k.name, k.scope, `${k.prefix}…`, k.createdAt.toISOString(), k.revokedAt?.toISOString() ?? '-'].join('\t'));
      });
    });
  apiKey
    .command('revoke')
    .description('revoke a key by id, or by name when one active key has it (API instances stop accepting it within 10 s)')
    .argument('<id-or-name>', 'the key id (api-key list) or its name')
    .action(async (idOrName: string) => {
      await withApp(async (app) => {
        const p = await app.get(ApiKeyService).revoke(idOrName);
        out(`Revoked ${p.scope} key "${p.name}" (${p.id}).`);
      });
    });
  apiKey
    .command('rotate')
    .description('replace a key: a new one with the same name and scope, the old one revoked at once')
    .argument('<id-or-name>', 'the key id (api-key list) or its name')
    .action(async (idOrName: string) => {
      await withApp(async (app) => {
        const r = await app.get(ApiKeyService).rotate(idOrName);
        out(`Revoked "${r.revoked.name}" (${r.revoked.id}); its replacement (${r.principal.id}) is shown only once:\n${r.key}`);
      });
    });

  const ledger = cli.command('ledger').description('the double-entry ledger').exitOverride();
  ledger
    .command('verify')
    .description('check every ledger invariant; exit 1 on a violation')
    .option('--json', 'print the report as JSON')
    .action(async (o: { json?: boolean }) => {
      const report = await withApp((app) => app.get(VerifyService).verify());
      if (o.json) out(JSON.stringify(report, null, 2));
      else {
        const c = report.counts;
        out(
          `checked ${c.wallets} wallets, ${c.buckets} buckets, ${c.transfers} transfers, ${c.entries} entries, ${c.reservations} reservations`,
        );
        for (const v of report.violations) out(`VIOLATION [${v.invariant}] ${v.detail}`);
        out(report.ok ? 'ledger OK: every invariant holds' : `ledger BROKEN: ${report.violations.length} violation(s)`);
      }
      code = report.ok ? 0 : 1;
    });

  cli
    .command('grants')
    .description('free and promotional grants')
    .exitOverride()
    .command('expire')
    .description('post lapsed bucket remainders to breakage (what the sweeper does)')
    .action(async () => {
      await withApp(async (app) => {
        const result = await app.get(MaintenanceService).expireLapsedBuckets((n) => {
          if (n % 100 === 0) process.stdout.write(`\rexpired ${n} buckets...`);
        });
        process.stdout.write(`\rexpired ${result.buckets} buckets, ${formatTokens(result.amount)} tokens to breakage\n`);
      });
    });

  const stripe = cli.command('stripe').description('Stripe (needs STRIPE_SECRET_KEY; STRIPE_API_BASE for another host)').exitOverride();
  stripe
    .command('sync-catalog')
    .description("create or find the catalog's Stripe products and prices")
    .action(async () => {
      await withApp(async (app, config) => {
        const r = await app
          .get(BillingService)
          .syncCatalog(out)
          .catch((e: unknown) => stripeUnreachable(e, config));
        out(`catalog synced: ${r.created.length} created, ${r.found.length} already there`);
      }, needsStripe);
    });
  stripe
    .command('reconcile')
    .description('credit paid sessions and invoices the ledger missed')
    .option('--since <duration>', 'how far back: 7d, 12h, 30m', parseSince, parseSince('7d'))
    .action(async (o: { since: Date }) => {
      await withApp(async (app, config) => {
        const report = await app
          .get(ReconcileService)
          .reconcile(o.since, (line) => process.stdout.write(`\r${line}`))
          .catch((e: unknown) => stripeUnreachable(e, config));
        out(`\nsince ${report.since}: ${report.checked.sessions} sessions, ${report.checked.invoices} invoices checked`);
        out(`matched ${report.matched.length}, repaired ${report.repaired.length}, odd ${report.odd.length}`);
        for (const r of report.repaired) out(`REPAIRED ${r}`);
        for (const x of report.odd) out(`ODD ${x}`);
      }, needsStripe);
    });

  cli
    .command('migration')
    .description('database migrations')
    .exitOverride()
    .command('run')
    .description('apply pending migrations (every process also does at start)')
    .action(async () => {
      const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
      const config = loadConfig();
      const services = await prepareServices(config, log);
      await services.stop();
      out('migrations are applied');
    });
  return cli;
}

/** The message of a failure the user can act on, or null for a bug (printed with its stack). */
function plainMessage(e: unknown): string | null {
  if (e instanceof ConfigError || e instanceof CliError || e instanceof ApiKeyLookupError || e instanceof EmbeddedPostgresError)
    return e.message;
  if (e instanceof DomainError) return e.detail;
  const code = (e as { code?: unknown })?.code;
  if (code === 'ECONNREFUSED' || code === '28P01' || code === '3D000')
    return `cannot use the database (${(e as Error).message}): check DATABASE_URL, or unset it for the embedded PostgreSQL`;
  if (e instanceof Error && /^name must be|^scope must be/.test(e.message)) return e.message;
  return null;
}

async function main(argv: string[]): Promise<void> {
  const cli = program();
  if (argv.length === 0) {
    cli.outputHelp();
    process.exitCode = USAGE_ERROR;
    return;
  }
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a usage error has been printed by commander.
      process.exitCode = e.exitCode === 0 ? 0 : USAGE_ERROR;
      return;
    }
    const message = plainMessage(e);
    process.stderr.write(message ? `error: ${message}\n` : `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
}

// Exit once the command is done: pools and Redis clients of a finished command never hold the process.
main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  () => process.exit(1),
);
