import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { ApiKeyService } from './api-key.service.js';
import { Clock } from './clock.js';
import type { AppConfig } from './config.js';
import { dataSourceOptions } from './data-source.js';
import { Database } from './database.js';
import { ApiKey } from './entities/api-key.entity.js';
import { IdempotencyService } from './idempotency.service.js';
import { LedgerCheckRegistry } from './ledger-checks.js';
import { QueueErrorLogger } from './queue-errors.js';
import { FastRedis } from './fast-redis.js';
import { RateLimiter } from './rate-limit.js';
import { APP_CONFIG, LOGGER } from './tokens.js';

function redisConnection(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis; they must retry forever rather than fail a command.
    maxRetriesPerRequest: null,
  };
}

/** Config, logging, the database and the queue connection: what every app and lib shares. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL must be resolved before the modules are built');
    const url = config.DATABASE_URL;
    if (!config.REDIS_URL) throw new Error('REDIS_URL must be resolved before the modules are built');
    return {
      module: CommonModule,
      imports: [
        DiscoveryModule,
        // Not a line per failed probe (every few seconds while Redis is down): the 503 body says what is down,
        // and QueueErrorLogger warns about Redis once per 10 s.
        TerminusModule.forRoot({ logger: false }),
        TypeOrmModule.forRoot({ ...dataSourceOptions(url, config.DB_POOL_SIZE), autoLoadEntities: true }),
        TypeOrmModule.forFeature([ApiKey]),
        BullModule.forRoot({ connection: redisConnection(config.REDIS_URL), prefix: config.QUEUE_PREFIX }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        Clock,
        Database,
        ApiKeyService,
        IdempotencyService,
        QueueErrorLogger,
        LedgerCheckRegistry,
        FastRedis,
        RateLimiter,
      ],
      exports: [
        TerminusModule,
        DiscoveryModule,
        LedgerCheckRegistry,
        RateLimiter,
        FastRedis,
        APP_CONFIG,
        LOGGER,
        Clock,
        Database,
        ApiKeyService,
        IdempotencyService,
        TypeOrmModule,
        BullModule,
      ],
    };
  }
}
