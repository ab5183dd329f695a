import { Clock } from '@app/common';
import type { TestApp } from './app.js';

export interface TestClock {
  /** The time the services see now. */
  now(): Date;
  /** Moves the services' clock to `at`. */
  set(at: Date | string): void;
  /** Moves the services' clock forward by `ms`. */
  advance(ms: number): void;
  /** Gives the services the real time again. */
  restore(): void;
}

/**
 * Takes over the app's {@link Clock} (one instance, injected into every
 * service), so a test crosses week boundaries and expiries at will. With
 * `tickMs`, every read moves the clock on by that much, so successive
 * operations get distinct, ordered times.
 */
export function controlClock(t: TestApp, start: Date | string, tickMs = 0): TestClock {
  const clock = t.app.get(Clock);
  // A replacement installed earlier (an own property), or none: the prototype's method then.
  const original = Object.getOwnPropertyDescriptor(clock, 'now');
  let current = new Date(start).getTime();
  clock.now = () => {
    const at = new Date(current);
    current += tickMs;
    return at;
  };
  return {
    now: () => new Date(current),
    set: (at) => {
      current = new Date(at).getTime();
    },
    advance: (ms) => {
      current += ms;
    },
    restore: () => {
      if (original) Object.defineProperty(clock, 'now', original);
      else Reflect.deleteProperty(clock, 'now');
    },
  };
}

export const DAY_MS = 86_400_000;
