import { Controller, Get, Inject, OnModuleDestroy, OnModuleInit, Res, ServiceUnavailableException } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { RequireScope } from './api-key.guard.js';
import { ApiErrors } from './api-docs.js';
import { migrationsApplied } from './data-source.js';
import type { AppConfig } from './config.js';
import { FastRedis } from './fast-redis.js';
import { HealthReportDto } from './health.dto.js';
import { CountableQueue, countedQueues, metricsRegistry } from './metrics.js';
import { redactedUrl } from './queue-errors.js';
import { APP_CONFIG } from './tokens.js';

/** Liveness, readiness (PostgreSQL, Redis, migrations) and Prometheus metrics; no API key. */
@ApiTags('ops')
// Every route refuses a control character in a query parameter (spec section 8), these too.
@ApiErrors('validation_error')
@Controller()
@RequireScope('public')
export class OpsController implements OnModuleInit, OnModuleDestroy {
  private queues: CountableQueue[] = [];

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly dataSource: DataSource,
    private readonly discovery: DiscoveryService,
    private readonly redis: FastRedis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.queues = this.discovery
      .getProviders()
      .map((w) => w.instance as unknown)
      .filter((q): q is CountableQueue => !!q && (q as { constructor?: { name?: string } }).constructor?.name === 'Queue');
    for (const q of this.queues) countedQueues.add(q);
  }

  onModuleDestroy(): void {
    for (const q of this.queues) countedQueues.delete(q);
  }

  @Get('health/live')
  @ApiOperation({ summary: 'Liveness', description: 'No API key. 200 while the process serves requests.' })
  @ApiResponse({ status: 200, type: HealthReportDto, description: 'Terminus report: {status: "ok", info: {}, error: {}, details: {}}.' })
  live() {
    return this.health.check([]);
  }

  @Get('health/ready')
  @ApiOperation({ summary: 'Readiness', description: 'No API key. Checks PostgreSQL, Redis and that every migration is applied.' })
  @ApiResponse({
    status: 200,
    type: HealthReportDto,
    description: 'Terminus report: {status: "ok", info: {database, redis, migrations}, error: {}, details}.',
  })
  @ApiResponse({
    status: 503,
    type: HealthReportDto,
    description: 'Terminus report (not a Problem): {status: "error", info, error: the checks that are down, with why, details}.',
  })
  async ready(@Res({ passthrough: true }) res: FastifyReply) {
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: 1_500 }),
        async () => {
          const s = this.indicators.check('redis');
          try {
            await this.redis.client.ping();
            return s.up();
          } catch (e) {
            const why = this.redis.lastError ?? (e as Error).message;
            return s.down({ message: `Redis at ${redactedUrl(this.config.REDIS_URL)} does not answer: ${why}` });
          }
        },
        async () => {
          const s = this.indicators.check('migrations');
          return (await migrationsApplied(this.dataSource)) ? s.up() : s.down({ message: 'pending migrations' });
        },
      ]);
    } catch (e) {
      // Terminus's own report (which check is down and why), not a generic problem document.
      if (e instanceof ServiceUnavailableException) {
        res.status(503);
        return e.getResponse();
      }
      throw e;
    }
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics', description: 'No API key. The Prometheus text exposition format.' })
  @ApiProduces('text/plain')
  @ApiResponse({
    status: 200,
    description:
      'Requests and latency by route, ledger operations, reservation age, queue depth and job outcomes, provider latency and errors, webhook deliveries.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async metrics(@Res() res: FastifyReply) {
    await res.header('Content-Type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  }
}
