import { Injectable } from '@nestjs/common';
import type { Database } from './database.js';

export interface CheckViolation {
  invariant: string;
  detail: string;
}

/** An invariant a domain adds to `ledger verify` (billing: every Stripe payment credited once). */
export interface LedgerCheck {
  invariant: string;
  run(db: Database): Promise<string[]>;
}

/**
 * Lets a domain contribute checks to the ledger's verify without the ledger
 * depending on it: the domain registers at module init, verify runs them all.
 */
@Injectable()
export class LedgerCheckRegistry {
  private readonly checks: LedgerCheck[] = [];

  register(check: LedgerCheck): void {
    if (!this.checks.some((c) => c.invariant === check.invariant)) this.checks.push(check);
  }

  async run(db: Database): Promise<CheckViolation[]> {
    const out: CheckViolation[] = [];
    for (const c of this.checks) for (const detail of await c.run(db)) out.push({ invariant: c.invariant, detail });
    return out;
  }
}
