import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Logger } from 'pino';
import { queueJobs } from './metrics.js';
import { createRequire } from 'node:module';
import type { AppConfig } from './config.js';
import { redactedRedisUrl } from './redis-target.js';
import { APP_CONFIG, LOGGER } from './tokens.js';

/** While Redis is unreachable its clients retry every few ms: one warning per this many ms says so. */
const THROTTLE_MS = 10_000;

interface ErrorEmitter {
  name: string;
  on(event: 'error', fn: (e: Error) => void): void;
}

type Sink = (who: string, e: Error) => void;
/** Where errors of queues that nobody listens to yet go: the newest app's logger (tests run several). */
let earlySink: Sink | null = null;
let patched = false;

/**
 * BullMQ queues connect as soon as Nest constructs them, before any module
 * init can attach an 'error' listener, and a queue with no listener prints
 * its connection error with console.error: a stack trace on stderr for every
 * queue when Redis is down at start. This routes such errors to our logger
 * instead, once per process, on the CommonJS build that @nestjs/bullmq loads.
 */
function routeUnheardQueueErrors(): void {
  if (patched) return;
  patched = true;
  const require = createRequire(import.meta.url);
  const { QueueBase } = require('bullmq') as { QueueBase: { prototype: EmitterProto } };
  const emit = QueueBase.prototype.emit;
  QueueBase.prototype.emit = function (this: EmitterProto & { name?: string }, event: string | symbol, ...args: unknown[]) {
    // By shape, not instanceof Error: the error may come from another realm (Jest's VM contexts).
    const err = args[0] as Error | undefined;
    if (event === 'error' && this.listenerCount('error') === 0 && typeof err?.message === 'string') {
      earlySink?.(`queue ${String(this.name)}`, err);
      return false;
    }
    return emit.call(this, event, ...args);
  };
}

interface EmitterProto {
  // A property, not a method: it is taken off the prototype and called with its `this` again.
  emit: (this: EmitterProto, event: string | symbol, ...args: unknown[]) => boolean;
  listenerCount(event: string): number;
}

/**
 * BullMQ queues and workers print connection errors to the console unless
 * someone listens. This listens on every registered queue and worker and
 * logs them as JSON: while Redis is unreachable, one warning per 10 s for
 * all of them, naming those that failed since the last one.
 */
@Injectable()
export class QueueErrorLogger implements OnModuleInit, OnApplicationBootstrap {
  private lastWarn = 0;
  private readonly failing = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    routeUnheardQueueErrors();
    earlySink = (who, e) => this.failed(who, e);
  }

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      // By shape, not instanceof: @nestjs/bullmq may load bullmq's CommonJS build and this file its ES build.
      const queue = wrapper.instance as { constructor?: { name?: string }; name?: string; on?: unknown } | undefined;
      if (!queue || queue.constructor?.name !== 'Queue' || typeof queue.on !== 'function') continue;
      this.logErrors(queue as unknown as ErrorEmitter, 'queue');
    }
  }

  private logErrors(emitter: ErrorEmitter, role: 'queue' | 'worker'): void {
    emitter.on('error', (e: Error) => this.failed(`${role} ${emitter.name}`, e));
  }

  private failed(who: string, e: Error): void {
    this.failing.add(who);
    const now = Date.now();
    if (now - this.lastWarn < THROTTLE_MS) return;
    this.lastWarn = now;
    const redis = redactedUrl(this.config.REDIS_URL);
    this.log.warn(
      { redis, err: e.message, failing: [...this.failing].sort(), retry_log_every_s: THROTTLE_MS / 1000 },
      'Redis is unreachable; queues and workers keep retrying (generations answer 503 queue_unavailable, the ledger works)',
    );
    this.failing.clear();
  }

  /** After @nestjs/bullmq has started the workers (its module init): count finished jobs per queue. */
  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const worker = (wrapper.instance as { worker?: { name?: string; on?: unknown } } | undefined)?.worker;
      if (!worker || typeof worker.on !== 'function' || typeof worker.name !== 'string') continue;
      const w = worker as { name: string; on(event: 'completed' | 'failed', fn: () => void): void };
      // A worker without an error listener prints every failed reconnect, stack and all, to stderr.
      this.logErrors(worker as unknown as ErrorEmitter, 'worker');
      w.on('completed', () => queueJobs.inc({ queue: w.name, outcome: 'completed' }));
      w.on('failed', () => queueJobs.inc({ queue: w.name, outcome: 'failed' }));
    }
  }
}

/** A Redis URL without its password, for logs. */
export function redactedUrl(url: string | undefined): string {
  return redactedRedisUrl(url);
}
