import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createIORedisClient, RedisConnection, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
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
import { parseRedisUrl, redisClient } from './redis-target.js';
import { APP_CONFIG, LOGGER } from './tokens.js';
import { WorkerShutdown } from './worker-shutdown.js';

/**
 * BullMQ's connection options for REDIS_URL. A Redis Cluster needs a Cluster
 * client, which BullMQ builds through its client factory (one per queue and
 * worker connection, each closed by BullMQ), so the options name the cluster.
 */
function redisConnection(url: string) {
  const t = parseRedisUrl(url);
  // BullMQ workers block on Redis; they must retry forever rather than fail a command.
  if (t.cluster) {
    useClusterFactory();
    return { [CLUSTER_URL]: url, maxRetriesPerRequest: null };
  }
  return {
    host: t.nodes[0].host,
    port: t.nodes[0].port,
    username: t.username,
    password: t.password,
    db: t.db,
    tls: t.tls ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

const CLUSTER_URL = 'tokenWalletClusterUrl';

/** Makes BullMQ build a Cluster client for options that name a cluster, and its usual client otherwise. */
function useClusterFactory(): void {
  if (RedisConnection.clientFactory) return;
  RedisConnection.clientFactory = (opts: RedisOptions) => {
    const { [CLUSTER_URL]: clusterUrl, url, ...rest } = opts as RedisOptions & { [CLUSTER_URL]?: string };
    if (typeof clusterUrl === 'string') {
      return createIORedisClient(redisClient(clusterUrl, { maxRetriesPerRequest: rest.maxRetriesPerRequest }));
    }
    return createIORedisClient(typeof url === 'string' ? new Redis(url, rest) : new Redis(rest));
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
        TypeOrmModule.forRoot({ ...dataSourceOptions(url, config.DB_POOL_SIZE, config.DATABASE_READ_URL), autoLoadEntities: true }),
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
        WorkerShutdown,
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
