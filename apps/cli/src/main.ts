import 'reflect-metadata';
import { ApiKeyService, ConfigError, createLogger, formatTokens, loadConfig, prepareServices, Scope } from '@app/common';
import { BillingService, ReconcileService } from '@app/billing';
import { MaintenanceService, VerifyService } from '@app/ledger';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { CliModule } from './cli.module.js';

const USAGE = `usage: npm run cli -- <command>
  api-key create --name NAME --scope gateway|admin   create an API key (printed once)
  ledger verify [--json]                             check every ledger invariant; exit 1 on a violation
  grants expire                                      post lapsed bucket remainders to breakage
  stripe sync-catalog                                create or find the catalog's Stripe products and prices
  stripe reconcile [--since 7d]                      credit paid sessions and invoices the ledger missed
  migration run                                      apply pending migrations`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

/** "7d", "12h", "30m" -> the date that long ago. */
function parseSince(text: string): Date | null {
  const m = /^([0-9]{1,4})([dhm])$/.exec(text);
  if (!m) return null;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  return new Date(Date.now() - Number(m[1]) * unit);
}

async function main() {
  const [group, action, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, scope: { type: 'string' }, json: { type: 'boolean' }, since: { type: 'string' } },
    strict: true,
  });
  const command = `${group ?? ''} ${action ?? ''}`;
  if (!['api-key create', 'ledger verify', 'grants expire', 'migration run', 'stripe sync-catalog', 'stripe reconcile'].includes(command))
    fail(`unknown command: ${command.trim() || '(none)'}`);
  if (command === 'api-key create' && (!values.name || (values.scope !== 'gateway' && values.scope !== 'admin'))) {
    fail('api-key create needs --name and --scope gateway|admin');
  }

  const since = parseSince(values.since ?? '7d');
  if (!since) fail('--since takes a duration such as 7d, 12h or 30m');

  // Progress and results go to stdout; logs stay quiet unless asked for.
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const config = loadConfig();
  config.RUN_WORKER = false;
  const services = await prepareServices(config, log);
  if (command === 'migration run') {
    process.stdout.write('migrations are applied\n');
    await services.stop();
    return 0;
  }
  const app = await NestFactory.createApplicationContext(CliModule.register(config, log), { logger: false });
  let code = 0;
  try {
    if (command === 'api-key create') {
      const { key, principal } = await app.get(ApiKeyService).create(values.name as string, values.scope as Scope);
      process.stdout.write(`Created ${principal.scope} key "${principal.name}" (${principal.id}). It is shown only once:\n${key}\n`);
    } else if (command === 'ledger verify') {
      const report = await app.get(VerifyService).verify();
      if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const c = report.counts;
        process.stdout.write(
          `checked ${c.wallets} wallets, ${c.buckets} buckets, ${c.transfers} transfers, ${c.entries} entries, ${c.reservations} reservations\n`,
        );
        for (const v of report.violations) process.stdout.write(`VIOLATION [${v.invariant}] ${v.detail}\n`);
        process.stdout.write(
          report.ok ? 'ledger OK: every invariant holds\n' : `ledger BROKEN: ${report.violations.length} violation(s)\n`,
        );
      }
      code = report.ok ? 0 : 1;
    } else if (command === 'stripe sync-catalog') {
      const r = await app.get(BillingService).syncCatalog((line) => process.stdout.write(`${line}\n`));
      process.stdout.write(`catalog synced: ${r.created.length} created, ${r.found.length} already there\n`);
    } else if (command === 'stripe reconcile') {
      const report = await app.get(ReconcileService).reconcile(since, (line) => process.stdout.write(`\r${line}`));
      process.stdout.write(`\nsince ${report.since}: ${report.checked.sessions} sessions, ${report.checked.invoices} invoices checked\n`);
      process.stdout.write(`matched ${report.matched.length}, repaired ${report.repaired.length}, odd ${report.odd.length}\n`);
      for (const r of report.repaired) process.stdout.write(`REPAIRED ${r}\n`);
      for (const o of report.odd) process.stdout.write(`ODD ${o}\n`);
    } else if (command === 'grants expire') {
      const result = await app.get(MaintenanceService).expireLapsedBuckets((n) => {
        if (n % 100 === 0) process.stdout.write(`\rexpired ${n} buckets...`);
      });
      process.stdout.write(`\rexpired ${result.buckets} buckets, ${formatTokens(result.amount)} tokens to breakage\n`);
    }
  } finally {
    await app.close();
    await services.stop();
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof ConfigError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
