import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';
import { checkTokens, parseTokens } from './money.js';

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

  @IsUrl({ protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true })
  REDIS_URL = 'redis://127.0.0.1:6379';

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

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  DB_POOL_SIZE = 20;

  /** BullMQ key prefix, so several deployments (or test runs) share one Redis. */
  @IsString()
  @Matches(/^[A-Za-z0-9_:-]{1,64}$/)
  QUEUE_PREFIX = 'tw';

  /** Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset. */
  @IsString()
  EMBEDDED_PG_DIR = '.data/pg';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  @IsOptional() @IsString() STRIPE_SECRET_KEY?: string;
  @IsOptional() @IsString() STRIPE_WEBHOOK_SECRET?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) STRIPE_API_BASE?: string;
  @IsOptional() @IsString() OPENAI_API_KEY?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) OPENAI_BASE_URL?: string;
  @IsOptional() @IsString() CLOUDFLARE_ACCOUNT_ID?: string;
  @IsOptional() @IsString() CLOUDFLARE_API_TOKEN?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) CLOUDFLARE_BASE_URL?: string;
  @IsIn(['live', 'fake']) PROVIDER_MODE = 'fake';

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
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && v !== '' && known.has(k)) picked[k] = v;
  }
  const config = plainToInstance(AppConfig, picked, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: false });
  const messages = errors.map((e) => {
    const why = Object.values(e.constraints ?? {}).join('; ');
    return `${e.property}=${JSON.stringify(picked[e.property])}: ${why}`;
  });
  const free = checkTokens(config.FREE_WEEKLY_TOKENS, { allowZero: true });
  if (free && !messages.some((m) => m.startsWith('FREE_WEEKLY_TOKENS'))) messages.push(`FREE_WEEKLY_TOKENS: ${free}`);
  if (config.RESERVATION_DEFAULT_TTL_S > config.RESERVATION_MAX_TTL_S) {
    messages.push('RESERVATION_DEFAULT_TTL_S must not exceed RESERVATION_MAX_TTL_S');
  }
  if (messages.length) throw new ConfigError(`Invalid configuration:\n  ${messages.join('\n  ')}`);
  return config;
}

const OPTIONAL = [
  'DATABASE_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_API_BASE',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'CLOUDFLARE_ACCOUNT_ID',
  'CLOUDFLARE_API_TOKEN',
  'CLOUDFLARE_BASE_URL',
];
