import { readFileSync } from 'node:fs';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import { checkTokens, parseTokens } from './money.js';
import { clusterUrl, hasHashTag, parseRedisUrl, redactedRedisUrl } from './redis-target.js';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return value;
};

/** The environment, validated at boot. Each field is one variable of spec section 7. */
export class AppConfig {
  @IsOptional()
  @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true })
  DATABASE_URL?: string;

  /**
   * A streaming replica of DATABASE_URL for reports, statements and lists (never the money path).
   * Unset: those read the primary too.
   */
  @IsOptional()
  @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true })
  DATABASE_READ_URL?: string;

  /**
   * false: the one-statement ledger calls go as unnamed statements, for a pooler in
   * transaction mode without prepared-statement support (PgBouncer before 1.21).
   */
  @Transform(toBool)
  @IsBoolean()
  DATABASE_PREPARED_STATEMENTS = true;

  /**
   * redis://, rediss://, or a Redis Cluster as redis+cluster://host:port,host:port (checked in loadConfig).
   * Unset: the Redis at REDIS_PROBE_URL if one answers, else the embedded one (EMBEDDED_REDIS_*).
   */
  @IsOptional()
  @IsString()
  REDIS_URL?: string;

  /** A Redis Cluster's seed nodes, host:port,host:port: the same as REDIS_URL=redis+cluster://host:port,host:port. */
  @IsOptional()
  @IsString()
  REDIS_CLUSTER_NODES?: string;

  /** Where to look for a Redis already running when REDIS_URL is unset. */
  @IsUrl({ protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true })
  REDIS_PROBE_URL = 'redis://127.0.0.1:6379';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsIn(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
  LOG_LEVEL = 'info';

  /** Tokens granted per wallet per ISO week; "0" disables the grant. */
  @Matches(/^[0-9]+(\.[0-9]{1,3})?$/, { message: 'FREE_WEEKLY_TOKENS must be a token amount such as 15 or 0' })
  FREE_WEEKLY_TOKENS = '15';

  @Transform(toBool)
  @IsBoolean()
  RUN_WORKER = true;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  RESERVATION_DEFAULT_TTL_S = 900;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  RESERVATION_MAX_TTL_S = 86_400;

  /** How often the sweeper releases expired reservations and expires lapsed grants. */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  SWEEP_INTERVAL_MS = 30_000;

  /**
   * Connections per process. Measured on a 2-core database (bench/README.md): 10 backends cost
   * 9-18% less PostgreSQL CPU per reserve + settle pair than 20 at the same load (less contention
   * on locks and the WAL); a larger database takes more.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  DB_POOL_SIZE = 10;

  /**
   * Ledger calls of one wallet in flight per process (0: no bound). A hot wallet's operations take
   * its row lock one at a time; past this many the rest wait in the process (FIFO; when the wallet
   * has not moved for 2 s, 503 wallet_busy with nothing applied), not on a pool connection in PostgreSQL, so one
   * wallet cannot take the pool from the others (bench/README.md, scenario (b)).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(500)
  LEDGER_WALLET_CONCURRENCY = 2;

  /** BullMQ key prefix, so several deployments (or test runs) share one Redis; on a cluster, {tw} by default. */
  @IsString()
  // Braces allowed: '{tw}' hash-tags every queue key to one Redis Cluster slot.
  @Matches(/^[A-Za-z0-9_:{}-]{1,64}$/)
  QUEUE_PREFIX = 'tw';

  /** Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset. */
  @IsString()
  EMBEDDED_PG_DIR = '.data/pg';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  /** Where the embedded Redis (redis-server from PATH) keeps its log and any data when no Redis is found. */
  @IsString()
  EMBEDDED_REDIS_DIR = '.data/redis';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_REDIS_PORT = 56379;

  /** Extra redis-server arguments after the defaults (--save "" --appendonly no), e.g. "--appendonly yes". */
  @IsString()
  EMBEDDED_REDIS_ARGS = '';

  @IsOptional() @IsString() STRIPE_SECRET_KEY?: string;
  /** One secret, or several separated by commas while one is rotated out. */
  @IsOptional() @IsString() STRIPE_WEBHOOK_SECRET?: string;
  /** JSON {packs:[{id,tokens,usd_cents}], plans:[...]} replacing the default catalog. */
  @IsOptional() @IsString() BILLING_CATALOG?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) STRIPE_API_BASE?: string;
  @IsOptional() @IsString() OPENAI_API_KEY?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) OPENAI_BASE_URL?: string;
  @IsOptional() @IsString() CLOUDFLARE_ACCOUNT_ID?: string;
  @IsOptional() @IsString() CLOUDFLARE_API_TOKEN?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) CLOUDFLARE_BASE_URL?: string;
  @IsIn(['live', 'fake']) PROVIDER_MODE = 'fake';

  /**
   * HMAC key for the Webhook-Signature header of outgoing webhooks. The default
   * exists only so development boots; production must set its own secret.
   */
  @IsString()
  @MinLength(16)
  WEBHOOK_SIGNING_SECRET = 'whsec_dev_change_me';

  /** Lets webhook_url point at private, loopback or link-local addresses: for local development and tests only. */
  @Transform(toBool)
  @IsBoolean()
  ALLOW_PRIVATE_WEBHOOK_URLS = false;

  /** Per-attempt budget for one webhook POST, connect to last response byte. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** How long a webhook keeps being retried after it is first queued. */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(7 * 86_400)
  WEBHOOK_MAX_AGE_S = 86_400;

  /** First retry delay of a webhook; it doubles per attempt up to an hour. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  WEBHOOK_BACKOFF_BASE_MS = 2_000;

  /**
   * How often each worker process looks for new wallet events and due
   * deliveries to the webhook endpoints (when it found work, it looks again at once).
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60_000)
  EVENT_DISPATCH_INTERVAL_MS = 1_000;

  /** How often each worker process looks in the event feed for balances that crossed an auto top-up threshold. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60_000)
  AUTO_TOP_UP_POLL_MS = 1_000;

  /**
   * Requests per minute per API key, across all instances (Redis); 0 turns the
   * limit off. The default (10,000 a second) is above what one machine serves,
   * so a single gateway key is never capped below the service's capacity.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 600_000;

  /** A worker-only process (no HTTP API) serves GET /metrics on this port; 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_METRICS_PORT = 9464;

  /** Where generated images are written; the API serves them under /files. */
  @IsString()
  STORAGE_DIR = '.data/images';

  /** The base of image URLs given to clients (default http://localhost:PORT). */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  PUBLIC_BASE_URL?: string;

  /** A generation's hold: long enough for retries, short enough to free stuck tokens. */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86_400)
  GENERATION_HOLD_TTL_S = 3_600;

  /**
   * The longest a generation's hold lives while its work goes on: the worker
   * and the recovery loop extend it GENERATION_HOLD_TTL_S at a time up to this
   * (an overnight batch bills every image delivered).
   */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(7 * 86_400)
  GENERATION_MAX_HOLD_S = 172_800;

  /** Budget of one provider attempt. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  GENERATION_TIMEOUT_MS = 120_000;

  /** Provider attempts per generation (429, 5xx and timeouts are retried). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10)
  GENERATION_ATTEMPTS = 3;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60_000)
  GENERATION_RETRY_BASE_MS = 1_000;

  /** Jobs one worker process runs at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  GENERATION_CONCURRENCY = 8;

  /** BullMQ job lock: a worker killed mid-job has its job picked up again after about this long. */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  WORKER_LOCK_MS = 30_000;

  /** How often the recovery sweeper looks for orphaned or stuck generations. */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  RECOVERY_INTERVAL_MS = 15_000;

  /** A generation in flight this long whose job is gone from the queue (Redis lost it) is enqueued again. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  GENERATION_STUCK_AFTER_S = 600;

  /** Latency of the in-process fake provider (PROVIDER_MODE=fake). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  FAKE_PROVIDER_LATENCY_MS = 0;

  get freeWeeklyMt(): bigint {
    return parseTokens(this.FREE_WEEKLY_TOKENS, { allowZero: true });
  }
}

export class ConfigError extends Error {}

/** Reads and validates the environment; throws naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Optional variables have no default, so they are not own keys of a fresh instance.
  const known = new Set([...Object.keys(new AppConfig()), ...OPTIONAL]);
  const picked: Record<string, string> = {};
  const messages: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && v !== '' && known.has(k)) picked[k] = v;
  }
  // NAME_FILE: the value is the file's content (Docker and compose secrets, mounted under /run/secrets).
  for (const k of SECRET_FILES) {
    const file = env[`${k}_FILE`];
    if (!file || picked[k] !== undefined) continue;
    try {
      const value = readFileSync(file, 'utf8').trim();
      if (value) picked[k] = value;
    } catch (e) {
      messages.push(`${k}_FILE=${JSON.stringify(file)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  if (picked.REDIS_CLUSTER_NODES !== undefined) {
    if (picked.REDIS_URL !== undefined) messages.push('REDIS_CLUSTER_NODES: set it or REDIS_URL, not both');
    else picked.REDIS_URL = clusterUrl(picked.REDIS_CLUSTER_NODES);
  }
  let cluster = false;
  if (picked.REDIS_URL !== undefined) {
    try {
      cluster = parseRedisUrl(picked.REDIS_URL).cluster;
    } catch (e) {
      const shown = picked.REDIS_CLUSTER_NODES ?? redactedRedisUrl(picked.REDIS_URL);
      messages.push(
        `${picked.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'}=${JSON.stringify(shown)}: ${(e as Error).message}`,
      );
    }
  }
  // BullMQ's scripts touch several keys of a queue at once: on a cluster they must share one slot.
  if (cluster && picked.QUEUE_PREFIX === undefined) picked.QUEUE_PREFIX = '{tw}';
  else if (cluster && !hasHashTag(picked.QUEUE_PREFIX ?? '')) {
    messages.push(`QUEUE_PREFIX=${JSON.stringify(picked.QUEUE_PREFIX)}: on a Redis Cluster it must hold a hash tag, such as {tw}`);
  }
  const config = plainToInstance(AppConfig, picked, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: false });
  messages.push(
    ...errors.map((e) => {
      const why = Object.values(e.constraints ?? {}).join('; ');
      // A secret's value is never echoed back.
      const shown = SECRET_FILES.includes(e.property) ? '(hidden)' : JSON.stringify(picked[e.property]);
      return `${e.property}=${shown}: ${why}`;
    }),
  );
  const free = checkTokens(config.FREE_WEEKLY_TOKENS, { allowZero: true });
  if (free && !messages.some((m) => m.startsWith('FREE_WEEKLY_TOKENS'))) messages.push(`FREE_WEEKLY_TOKENS: ${free}`);
  if (config.RESERVATION_DEFAULT_TTL_S > config.RESERVATION_MAX_TTL_S) {
    messages.push('RESERVATION_DEFAULT_TTL_S must not exceed RESERVATION_MAX_TTL_S');
  }
  if (messages.length) throw new ConfigError(`Invalid configuration:\n  ${messages.join('\n  ')}`);
  return config;
}

/** Variables that may be given as a file instead (NAME_FILE), for secrets managers and compose secrets. */
const SECRET_FILES = [
  'DATABASE_URL',
  'DATABASE_READ_URL',
  'REDIS_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'OPENAI_API_KEY',
  'CLOUDFLARE_API_TOKEN',
  'WEBHOOK_SIGNING_SECRET',
];

const OPTIONAL = [
  'BILLING_CATALOG',
  'DATABASE_READ_URL',
  'REDIS_CLUSTER_NODES',
  'PUBLIC_BASE_URL',
  'DATABASE_URL',
  'REDIS_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_API_BASE',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'CLOUDFLARE_ACCOUNT_ID',
  'CLOUDFLARE_API_TOKEN',
  'CLOUDFLARE_BASE_URL',
];
