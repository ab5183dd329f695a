import { describe, expect, it } from '@jest/globals';
import { DomainError } from '@app/common';
import { ReservationOwners, WalletGate } from './wallet-gate.js';

/** A call that runs until the test ends it. */
function pending(log: string[], name: string): { work: () => Promise<string>; end: () => void; started: () => boolean } {
  let end!: () => void;
  let started = false;
  const done = new Promise<void>((r) => (end = r));
  return {
    work: async () => {
      started = true;
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
    end: () => end(),
    started: () => started,
  };
}

const tick = () => new Promise((r) => setImmediate(r));
const BUSY = new Error('lock timeout');
const isBusy = (e: unknown) => e === BUSY;

describe('WalletGate', () => {
  it('runs at most `limit` calls of one wallet at once, the rest in arrival order', async () => {
    const gate = new WalletGate(2, 2_000, 100, isBusy);
    const log: string[] = [];
    const calls = ['a', 'b', 'c', 'd', 'e'].map((n) => pending(log, n));
    const results = calls.map((c) => gate.run('w', c.work));
    await tick();
    expect(calls.map((c) => c.started())).toEqual([true, true, false, false, false]);
    expect(gate.load('w')).toEqual({ active: 2, waiting: 3 });
    calls[1].end();
    await tick();
    expect(calls.map((c) => c.started())).toEqual([true, true, true, false, false]);
    calls[0].end();
    calls[2].end();
    await tick();
    expect(calls.map((c) => c.started())).toEqual([true, true, true, true, true]);
    calls[3].end();
    calls[4].end();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start a', 'start b', 'start c', 'start d', 'start e']);
    expect(gate.load('w')).toEqual({ active: 0, waiting: 0 });
  });

  it('does not hold one wallet back for another, nor a call with no wallet', async () => {
    const gate = new WalletGate(1, 2_000, 100, isBusy);
    const log: string[] = [];
    const hot = pending(log, 'hot');
    const queued = pending(log, 'queued');
    void gate.run('hot', hot.work);
    const q = gate.run('hot', queued.work);
    expect(await gate.run('calm', () => Promise.resolve('calm'))).toBe('calm');
    expect(await gate.run(undefined, () => Promise.resolve('unkeyed'))).toBe('unkeyed');
    expect(queued.started()).toBe(false);
    hot.end();
    queued.end();
    expect(await q).toBe('queued');
  });

  it('frees the turn when a call fails', async () => {
    const gate = new WalletGate(1, 2_000, 100, isBusy);
    await expect(gate.run('w', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(gate.load('w')).toEqual({ active: 0, waiting: 0 });
    expect(await gate.run('w', () => Promise.resolve('next'))).toBe('next');
  });

  it('refuses with 503 wallet_busy, running nothing, a call whose wallet did not move while it waited, or that finds the queue full', async () => {
    let now = 0;
    const gate = new WalletGate(1, 2_000, 2, isBusy, () => now);
    const log: string[] = [];
    let timeOut!: () => void;
    const first = gate.run('w', () => new Promise<string>((_, reject) => (timeOut = () => reject(BUSY))));
    const late = pending(log, 'late');
    const onTime = pending(log, 'on-time');
    const overflow = pending(log, 'overflow');
    const b = gate.run('w', late.work);
    now = 1_500;
    const c = gate.run('w', onTime.work);
    const d = gate.run('w', overflow.work);
    const full = (await d.catch((e: unknown) => e)) as DomainError;
    expect([full.status, full.code]).toEqual([503, 'wallet_busy']);
    now = 2_500;
    timeOut();
    await expect(first).rejects.toBe(BUSY);
    const expired = (await b.catch((e: unknown) => e)) as DomainError;
    expect([expired.status, expired.code]).toEqual([503, 'wallet_busy']);
    await tick();
    expect([late.started(), onTime.started(), overflow.started()]).toEqual([false, true, false]);
    onTime.end();
    expect(await c).toBe('on-time');
    expect(gate.load('w')).toEqual({ active: 0, waiting: 0 });
  });

  it('never refuses a call of a wallet that moves, however long its turn takes', async () => {
    let now = 0;
    const gate = new WalletGate(1, 2_000, 100, isBusy, () => now);
    const done = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        gate
          .run('w', async () => {
            await tick();
            now += 1_000; // each call takes 1 s: the last waits 9 s
            if (i === 3) throw new Error('insufficient funds'); // an answer from under the lock is movement too
            return i;
          })
          .catch((e: Error) => e.message),
      ),
    );
    expect(done).toEqual([0, 1, 2, 'insufficient funds', 4, 5, 6, 7, 8, 9]);
  });

  it('with limit 0 does not bound anything', async () => {
    const gate = new WalletGate(0, 2_000, 1, isBusy);
    const log: string[] = [];
    const calls = [1, 2, 3].map((n) => pending(log, String(n)));
    const results = calls.map((c) => gate.run('w', c.work));
    await tick();
    expect(calls.every((c) => c.started())).toBe(true);
    calls.forEach((c) => c.end());
    expect(await Promise.all(results)).toEqual(['1', '2', '3']);
  });

  it('hands over 500 turns in order and ends empty', async () => {
    const gate = new WalletGate(1, 60_000, 10_000, isBusy);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        gate.run('w', async () => {
          order.push(i);
          await tick();
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(gate.load('w')).toEqual({ active: 0, waiting: 0 });
  });
});

describe('ReservationOwners', () => {
  it('forgets the oldest entry past its bound', () => {
    const owners = new ReservationOwners(2);
    owners.set('r1', 'a');
    owners.set('r2', 'b');
    owners.set('r3', 'c');
    expect([owners.get('r1'), owners.get('r2'), owners.get('r3')]).toEqual([undefined, 'b', 'c']);
    owners.delete('r2');
    expect(owners.get('r2')).toBeUndefined();
  });
});
