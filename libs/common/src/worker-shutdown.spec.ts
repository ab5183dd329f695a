import { describe, expect, it } from '@jest/globals';
import type { Logger } from 'pino';
import { boundWorkerClose, type ClosableWorker } from './worker-shutdown.js';

const never = () => new Promise<void>(() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker whose close() does what `close` says, with `running` jobs and two clients that record a disconnect. */
function fakeWorker(close: (force?: boolean) => Promise<void>, running = { n: 0 }) {
  const clients = [
    {
      status: 'ready',
      disconnectedAt: 0,
      disconnect() {
        this.disconnectedAt = Date.now();
      },
    },
    {
      status: 'reconnecting',
      disconnectedAt: 0,
      disconnect() {
        this.disconnectedAt = Date.now();
      },
    },
  ];
  const calls: (boolean | undefined)[] = [];
  const worker = {
    name: 'generations',
    close: (force?: boolean) => (calls.push(force), close(force)),
    lockManager: { getActiveJobCount: () => running.n },
    getBackend: () => ({ client: Promise.resolve(clients[0]), blockingClient: Promise.resolve(clients[1]) }),
  };
  return { worker: worker as ClosableWorker & typeof worker, clients, calls };
}

function fakeLog() {
  const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
  const log = { warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ fields, msg }) } as unknown as Logger;
  return { log, warnings };
}

describe('boundWorkerClose', () => {
  it('returns as soon as BullMQ’s close does, and disconnects nothing', async () => {
    const { worker, clients, calls } = fakeWorker(() => sleep(10).then(() => undefined));
    const { log, warnings } = fakeLog();
    boundWorkerClose(worker, log, 1_000);
    const started = Date.now();
    await worker.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(calls).toEqual([false]);
    expect(warnings).toEqual([]);
    expect(clients.map((c) => c.disconnectedAt)).toEqual([0, 0]);
  });

  it('disconnects the worker’s clients and returns when its close still waits on Redis after the grace', async () => {
    const { worker, clients } = fakeWorker(never);
    const { log, warnings } = fakeLog();
    boundWorkerClose(worker, log, 100);
    const started = Date.now();
    await worker.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(clients.every((c) => c.disconnectedAt > 0)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].fields).toEqual({ queue: 'generations', after_ms: 100, running_jobs: 0, redis: ['ready', 'reconnecting'] });
    expect(warnings[0].msg).toMatch(/stalled-job recovery/);
  });

  it('waits for a running job however long it takes, and only then starts the grace', async () => {
    const running = { n: 1 };
    const { worker, clients } = fakeWorker(never, running);
    const { log } = fakeLog();
    boundWorkerClose(worker, log, 100);
    const started = Date.now();
    const closing = worker.close();
    await sleep(400);
    expect(clients.map((c) => c.disconnectedAt)).toEqual([0, 0]);
    const jobDone = Date.now();
    running.n = 0;
    await closing;
    expect(clients.every((c) => c.disconnectedAt - jobDone >= 95)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(495);
  });

  it('returns a close that finishes while a job still runs, at once', async () => {
    let finish = () => undefined as void;
    const { worker, clients } = fakeWorker(() => new Promise<void>((r) => (finish = r)), { n: 1 });
    const { log, warnings } = fakeLog();
    boundWorkerClose(worker, log, 100);
    const closing = worker.close();
    await sleep(50);
    finish();
    await closing;
    expect(warnings).toEqual([]);
    expect(clients.map((c) => c.disconnectedAt)).toEqual([0, 0]);
  });

  it('passes a failure of the close on, and closes once for every caller', async () => {
    const { worker, calls } = fakeWorker(() => Promise.reject(new Error('boom')));
    const { log } = fakeLog();
    boundWorkerClose(worker, log, 100);
    const first = worker.close(true);
    const second = worker.close();
    await expect(first).rejects.toThrow('boom');
    await expect(second).rejects.toThrow('boom');
    expect(calls).toEqual([true]);
  });

  it('cuts a close short even when a client never came up', async () => {
    const worker: ClosableWorker = { name: 'webhooks', close: never, getBackend: () => ({ client: never() }) };
    const { log, warnings } = fakeLog();
    boundWorkerClose(worker, log, 50);
    await worker.close();
    expect(warnings[0].fields.redis).toEqual([]);
  });
});
