import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Logger } from 'pino';
import { queueJobs } from './metrics.js';
import { LOGGER } from './tokens.js';

/** One line per queue per this many ms while Redis is unreachable: its client retries every few ms. */
const THROTTLE_MS = 10_000;

interface ErrorEmitter {
  name: string;
  on(event: 'error', fn: (e: Error) => void): void;
}

/**
 * BullMQ queues print connection errors to the console unless someone
 * listens. This listens on every registered queue and logs them as JSON,
 * throttled, so a Redis outage reads as a handful of warnings.
 */
@Injectable()
export class QueueErrorLogger implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      // By shape, not instanceof: @nestjs/bullmq may load bullmq's CommonJS build and this file its ES build.
      const queue = wrapper.instance as { constructor?: { name?: string }; name?: string; on?: unknown } | undefined;
      if (!queue || queue.constructor?.name !== 'Queue' || typeof queue.on !== 'function') continue;
      this.logErrors(queue as unknown as ErrorEmitter, 'queue');
    }
  }

  private logErrors(emitter: ErrorEmitter, role: 'queue' | 'worker'): void {
    let last = 0;
    emitter.on('error', (e: Error) => {
      const now = Date.now();
      if (now - last < THROTTLE_MS) return;
      last = now;
      this.log.warn({ [role]: emitter.name, err: e.message }, `${role} connection error`);
    });
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
