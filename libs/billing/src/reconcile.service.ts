import { Clock, Database, LOGGER } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import { AutoTopUpService } from './auto-top-up.service.js';
import { PlanPrices } from './plan-prices.js';
import { type EffectResult, StripeEffects } from './stripe-effects.js';
import { noStripe, STRIPE } from './stripe.client.js';

export interface ReconcileReport {
  since: string;
  checked: { sessions: number; invoices: number; auto_top_ups: number };
  matched: string[];
  repaired: string[];
  odd: string[];
}

/**
 * Lists what Stripe says was paid and credits what the ledger missed, through
 * the same idempotent effects the webhook uses: running it twice, or while
 * webhooks arrive, credits nothing twice. A payment it credits takes any
 * refund or dispute that was kept for it (StripeEffects.creditPayment). A paid
 * invoice whose billing_reason credits nothing (`manual`, …) is odd.
 */
@Injectable()
export class ReconcileService {
  constructor(
    private readonly db: Database,
    private readonly effects: StripeEffects,
    private readonly plans: PlanPrices,
    private readonly autoTopUp: AutoTopUpService,
    private readonly clock: Clock,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  get configured(): boolean {
    return this.stripe !== null;
  }

  async reconcile(since: Date, onProgress?: (line: string) => void): Promise<ReconcileReport> {
    if (!this.stripe) throw noStripe();
    const report: ReconcileReport = {
      since: since.toISOString(),
      checked: { sessions: 0, invoices: 0, auto_top_ups: 0 },
      matched: [],
      repaired: [],
      odd: [],
    };
    const gte = Math.floor(since.getTime() / 1000);
    for await (const session of this.stripe.checkout.sessions.list({ status: 'complete', created: { gte }, limit: 100 })) {
      report.checked.sessions++;
      if (session.mode !== 'payment') continue;
      if (session.payment_status !== 'paid') {
        report.odd.push(`session ${session.id} is complete but ${session.payment_status}`);
        continue;
      }
      const r = await this.apply(report, `session ${session.id}`, () =>
        this.db.transaction((tx) => this.effects.creditPack(tx, session, this.clock.now())),
      );
      if (r) this.record(report, `session ${session.id}`, r);
      onProgress?.(`sessions ${report.checked.sessions}, invoices ${report.checked.invoices}, repaired ${report.repaired.length}`);
    }
    for await (const invoice of this.stripe.invoices.list({ status: 'paid', created: { gte }, limit: 100 })) {
      report.checked.invoices++;
      const r = await this.apply(report, `invoice ${invoice.id}`, async () => {
        // The prices are read before the transaction, never while it holds locks.
        const prices = await this.plans.forInvoice(invoice);
        return this.db.transaction((tx) => this.effects.creditPlanInvoice(tx, invoice, prices, this.clock.now()));
      });
      if (r) this.record(report, `invoice ${invoice.id}`, r, `billing_reason ${invoice.billing_reason ?? 'none'}`);
      onProgress?.(`sessions ${report.checked.sessions}, invoices ${report.checked.invoices}, repaired ${report.repaired.length}`);
    }
    // Auto top-ups left open: a succeeded PaymentIntent whose webhook never came is credited once.
    report.checked.auto_top_ups = await this.autoTopUp.reconcile((what, r) => {
      if (r === 'credited') report.repaired.push(`${what}: credited (its webhook never arrived)`);
      else if (r === 'already_credited' || r === 'processing') report.matched.push(what);
      else if (r === 'failed' || r === 'requires_action' || r === 'skipped') report.repaired.push(`${what}: ${r}`);
      else report.odd.push(`${what}: ${r}`);
    });
    this.log.info(
      { ...report.checked, matched: report.matched.length, repaired: report.repaired.length, odd: report.odd.length },
      'stripe reconcile',
    );
    return report;
  }

  /**
   * One session or invoice: a failure of one (its transaction rolled back) is
   * reported as odd and logged, and the run goes on to the rest.
   */
  private async apply(report: ReconcileReport, what: string, work: () => Promise<EffectResult>): Promise<EffectResult | null> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof Stripe.errors.StripeError) throw e; // Stripe itself failed: the run cannot go on
      const err = e instanceof Error ? e.message : String(e);
      this.log.error({ err, what }, 'stripe reconcile: an item failed');
      report.odd.push(`${what}: failed, nothing applied (${err})`);
      return null;
    }
  }

  private record(report: ReconcileReport, what: string, r: EffectResult, why = 'metadata missing or not ours'): void {
    if (r === 'credited') report.repaired.push(`${what}: credited (its webhook never arrived)`);
    else if (r === 'already_credited' || r === 'nothing_due') report.matched.push(what);
    else if (r === 'no_wallet') report.odd.push(`${what}: no wallet matches its metadata or customer`);
    else if (r === 'odd') report.odd.push(`${what}: credits no tokens (${why})`);
    else report.odd.push(`${what}: ${r} (${why})`);
  }
}
