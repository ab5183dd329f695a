import { GenerationFinisher } from '@app/generation';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { epochMs } from './generation-clients.js';

/** What scenario (e) samples over its window besides the service usage: run-time wrappers and Redis's CPU. */

/**
 * Times every GenerationFinisher.finish call (by generation id) from the
 * outside: the product's class is wrapped at runtime for the run and restored
 * after; its code is untouched. finished_at is now() of the finisher's
 * transaction, i.e. its start, so the settlement's own time (wallet lock,
 * settle, UPDATE, COMMIT) is only visible this way.
 */
export function timeFinisher(): { records: Map<string, { callMs: number; doneMs: number }>; restore: () => void } {
  const proto = GenerationFinisher.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'finish')!;
  const finish = original.value as GenerationFinisher['finish'];
  const records = new Map<string, { callMs: number; doneMs: number }>();
  Object.defineProperty(proto, 'finish', {
    ...original,
    value: async function (this: GenerationFinisher, ...args: Parameters<GenerationFinisher['finish']>) {
      const callMs = epochMs();
      const result = await finish.apply(this, args);
      if (!records.has(args[0])) records.set(args[0], { callMs, doneMs: epochMs() });
      return result;
    },
  });
  let restored = false;
  return {
    records,
    restore: () => {
      if (!restored) Object.defineProperty(proto, 'finish', original);
      restored = true;
    },
  };
}

/**
 * Counts the statements this process sends to PostgreSQL (the API and its worker; the
 * bench's own few sampling queries included) by wrapping pg.Client.prototype.query for the run.
 */
export function countStatements(): { count: () => number; restore: () => void } {
  const proto = pg.Client.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'query')!;
  const query = original.value as (...args: unknown[]) => unknown;
  let n = 0;
  Object.defineProperty(proto, 'query', {
    ...original,
    value: function (this: pg.Client, ...args: unknown[]) {
      n++;
      return query.apply(this, args);
    },
  });
  let restored = false;
  return {
    count: () => n,
    restore: () => {
      if (!restored) Object.defineProperty(proto, 'query', original);
      restored = true;
    },
  };
}

/** CPU time (ms) the Redis server has used so far (INFO cpu), or null. */
export async function redisCpuMs(redis: Redis): Promise<number | null> {
  try {
    const info = await redis.info('cpu');
    const sys = /^used_cpu_sys:([0-9.]+)/m.exec(info);
    const user = /^used_cpu_user:([0-9.]+)/m.exec(info);
    return sys && user ? (Number(sys[1]) + Number(user[1])) * 1000 : null;
  } catch {
    return null;
  }
}

/** What the scenario samples itself over the window, besides the ServiceUsage of service-usage.ts. */
export interface SideUsage {
  statements: number;
  fakeCpuMs: number | null;
  redisCpuMs: number | null;
  cpuBusy: number | null;
}
