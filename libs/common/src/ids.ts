import { randomUUID } from 'node:crypto';

/** Prefixed ids for API objects: res_ for reservations, gen_ for generations. */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}
