import { APP_CONFIG, AppConfig, Clock, Database, DomainError, Errors, formatTokens, LOGGER, parseTokens, Tx } from '@app/common';
import { EventsService, Ledger } from '@app/ledger';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import { CATALOG, type Catalog } from './catalog.js';
import { type EffectResult, StripeEffects } from './stripe-effects.js';
import type { PutAutoTopUpDto } from './dto/auto-top-up.dto.js';
import { isWalletId, noStripe, STRIPE } from './stripe.client.js';

export const AUTO_TOP_UP_QUEUE = 'auto-top-up';
/** The ledger alert that marks each crossing below the threshold (flipped under the wallet lock). */
export const AUTO_TOP_UP_ALERT = '_auto_top_up';
const CONSUMER = 'auto-top-up';
/** Failures in a row (declines, authentication required) that turn auto top-up off. */
export const FAILURES_TO_DISABLE = 3;
/** How long Stripe keeps an idempotency key (24 h), less a margin. */
const STRIPE_KEY_WINDOW_MS = 23 * 3_600_000;

type AttemptStatus = 'creating' | 'processing' | 'succeeded' | 'failed' | 'requires_action' | 'skipped';

interface AttemptRow {
  wallet_id: string;
  crossing: string;
  month: string;
  pack_id: string | null;
  tokens: number | null;
  amount_cents: number | null;
  idempotency_key: string;
  payment_intent: string | null;
  status: AttemptStatus;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

interface ConfigRow {
  wallet_id: string;
  enabled: boolean;
  threshold_mt: string;
  pack_id: string;
  max_per_month: number;
  failures: number;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface AutoTopUpView {
  owner_id: string;
  enabled: boolean;
  threshold: string | null;
  pack_id: string | null;
  max_per_month: number | null;
  payment_method: { id: string; brand: string | null; last4: string | null; saved_at: string } | null;
  failures: number;
  disabled_reason: string | null;
  this_month: number;
  attempts: {
    crossing: number;
    status: AttemptStatus;
    payment_intent: string | null;
    tokens: number | null;
    amount_cents: number | null;
    error: string | null;
    created_at: string;
    updated_at: string;
  }[];
}

const monthOf = (d: Date) => `${d.toISOString().slice(0, 7)}-01`;

/**
 * The top-ups of a wallet ($1) in a month ($2) that count toward max_per_month: a failed or skipped one does not.
 * One left in requires_action does: the customer may still authenticate it (its PaymentIntent can still succeed, and
 * its webhook is credited), so it keeps its place under the cap.
 */
const THIS_MONTH = `SELECT count(*)::int AS n FROM auto_top_up_attempts
  WHERE wallet_id = $1 AND month = $2 AND status IN ('creating', 'processing', 'succeeded', 'requires_action')`;

/**
 * Auto top-up (spec section 10): when an operation leaves `available` below
 * the threshold, one off-session PaymentIntent for the pack, at most one in
 * flight per wallet, never more than max_per_month a calendar month; the
 * tokens come only from the signed payment_intent.succeeded webhook.
 *
 * The crossing is the ledger's: a service alert (`_auto_top_up`) flips under
 * the wallet lock exactly once each time the balance goes below the threshold,
 * writing alert.triggered. {@link follow} reads those from the event feed after
 * commit and queues one BullMQ job per crossing (job id = wallet + crossing);
 * {@link attempt} claims the crossing in auto_top_up_attempts (its primary
 * key), then asks Stripe with an idempotency key that names the wallet and
 * the crossing, so a retried or duplicated job charges once.
 */
@Injectable()
export class AutoTopUpService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly events: EventsService,
    private readonly effects: StripeEffects,
    private readonly clock: Clock,
    @Inject(CATALOG) private readonly catalog: Catalog,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @InjectQueue(AUTO_TOP_UP_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * A fault drill's hook: when set, an attempt dies right after Stripe made the
   * PaymentIntent and before it is recorded, as a killed worker would.
   */
  faultAfterCreate: (() => void) | null = null;

  private async wallet(ownerId: string): Promise<{ id: string; stripe_customer_id: string | null }> {
    const rows = await this.db.query<{ id: string; stripe_customer_id: string | null }>(
      `SELECT id, stripe_customer_id FROM wallets WHERE owner_id = $1`,
      [ownerId],
    );
    if (!rows[0]) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    return rows[0];
  }

  async view(ownerId: string): Promise<AutoTopUpView> {
    const w = await this.wallet(ownerId);
    // One snapshot for the four reads: a success commits its attempt and the reset of failures together,
    // and the view must not show one without the other.
    const { cfg, pm, attempts, month } = await this.db.transaction(async (tx) => {
      await tx.sql.query(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
      const cfgRows = (await tx.sql.query<ConfigRow>(`SELECT * FROM auto_top_ups WHERE wallet_id = $1`, [w.id])).rows;
      const pmRows = (
        await tx.sql.query<{ payment_method: string; brand: string | null; last4: string | null; saved_at: Date }>(
          `SELECT payment_method, brand, last4, saved_at FROM stripe_payment_methods WHERE wallet_id = $1`,
          [w.id],
        )
      ).rows;
      const attemptRows = (
        await tx.sql.query<AttemptRow>(`SELECT * FROM auto_top_up_attempts WHERE wallet_id = $1 ORDER BY crossing DESC LIMIT 10`, [w.id])
      ).rows;
      const monthRows = (await tx.sql.query<{ n: number }>(THIS_MONTH, [w.id, monthOf(this.clock.now())])).rows;
      return { cfg: cfgRows[0], pm: pmRows[0], attempts: attemptRows, month: monthRows[0] };
    });
    return {
      owner_id: ownerId,
      enabled: cfg?.enabled ?? false,
      threshold: cfg ? formatTokens(BigInt(cfg.threshold_mt)) : null,
      pack_id: cfg?.pack_id ?? null,
      max_per_month: cfg?.max_per_month ?? null,
      payment_method: pm ? { id: pm.payment_method, brand: pm.brand, last4: pm.last4, saved_at: pm.saved_at.toISOString() } : null,
      failures: cfg?.failures ?? 0,
      disabled_reason: cfg?.disabled_reason ?? null,
      this_month: month.n,
      attempts: attempts.map((a) => ({
        crossing: Number(a.crossing),
        status: a.status,
        payment_intent: a.payment_intent,
        tokens: a.tokens,
        amount_cents: a.amount_cents,
        error: a.error,
        created_at: a.created_at.toISOString(),
        updated_at: a.updated_at.toISOString(),
      })),
    };
  }

  /** PUT: creates or replaces the settings; enabling needs a saved payment method and starts from zero failures. */
  async put(ownerId: string, dto: PutAutoTopUpDto): Promise<{ status: number; body: AutoTopUpView }> {
    const w = await this.wallet(ownerId);
    if (!this.catalog.packs.some((p) => p.id === dto.pack_id))
      throw Errors.notFound('pack_not_found', `No pack ${dto.pack_id} in the catalog`);
    const threshold = parseTokens(dto.threshold, { allowZero: true });
    const now = this.clock.now();
    const created = await this.db.transaction(async (tx) => {
      if (dto.enabled) {
        const { rows } = await tx.sql.query(`SELECT 1 FROM stripe_payment_methods WHERE wallet_id = $1`, [w.id]);
        if (rows.length === 0) {
          throw new DomainError(
            422,
            'payment_method_required',
            'Unprocessable request',
            'Auto top-up needs a saved payment method: a pack Checkout with save_payment_method: true, or POST /v1/billing/setup-sessions',
          );
        }
      }
      const { rows } = await tx.sql.query<{ created: boolean }>(
        `INSERT INTO auto_top_ups (wallet_id, enabled, threshold_mt, pack_id, max_per_month, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (wallet_id) DO UPDATE SET enabled = excluded.enabled, threshold_mt = excluded.threshold_mt, pack_id = excluded.pack_id,
           max_per_month = excluded.max_per_month, updated_at = excluded.updated_at,
           failures = CASE WHEN excluded.enabled AND NOT auto_top_ups.enabled THEN 0 ELSE auto_top_ups.failures END,
           disabled_reason = CASE WHEN excluded.enabled THEN NULL ELSE auto_top_ups.disabled_reason END
         RETURNING (xmax = 0) AS created`,
        [w.id, dto.enabled, threshold.toString(), dto.pack_id, dto.max_per_month, now],
      );
      // The crossing is the ledger's alert, in the same transaction: a balance already below fires it now.
      if (dto.enabled) await this.ledger.putAlert(ownerId, AUTO_TOP_UP_ALERT, { type: 'balance_below', threshold }, now, tx);
      else await this.ledger.deleteAlert(ownerId, AUTO_TOP_UP_ALERT, now, tx);
      return rows[0].created;
    });
    return { status: created ? 201 : 200, body: await this.view(ownerId) };
  }

  /** The wallet's default payment method for off-session charges (the newest saved wins). */
  async savePaymentMethod(
    tx: Tx,
    walletId: string,
    customer: string,
    paymentMethod: string,
    from: string,
    at: Date,
    card?: { brand?: string | null; last4?: string | null } | null,
  ): Promise<void> {
    await tx.sql.query(
      `INSERT INTO stripe_payment_methods (wallet_id, customer, payment_method, brand, last4, saved_from, saved_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (wallet_id) DO UPDATE SET customer = excluded.customer, payment_method = excluded.payment_method, brand = excluded.brand,
         last4 = excluded.last4, saved_from = excluded.saved_from, saved_at = excluded.saved_at
       WHERE stripe_payment_methods.saved_at <= excluded.saved_at`,
      [walletId, customer, paymentMethod, card?.brand ?? null, card?.last4 ?? null, from, at],
    );
  }

  // ---- the trigger ---------------------------------------------------------------------------

  /** Queues one job per new crossing in the event feed; how many crossings it saw. */
  async follow(): Promise<number> {
    let seen = 0;
    for (;;) {
      const { events, cursor } = await this.events.take(CONSUMER, ['alert.triggered'], 500);
      for (const e of events) {
        if (e.data.alert !== AUTO_TOP_UP_ALERT) continue;
        seen++;
        await this.queue.add(
          'attempt',
          { walletId: e.wallet_id, crossing: e.seq },
          {
            jobId: `atu-${e.wallet_id}-${e.seq}`,
            attempts: 8,
            backoff: { type: 'exponential', delay: 2_000 },
            removeOnComplete: 1_000,
            removeOnFail: 1_000,
          },
        );
      }
      await this.events.advance(CONSUMER, cursor);
      if (events.length < 500) return seen;
    }
  }

  /**
   * One crossing: claim it, then one off-session PaymentIntent. A job run
   * again (BullMQ retry, a killed worker, a duplicate) finds its claim and
   * asks Stripe again with the same idempotency key: one charge.
   */
  async attempt(walletId: string, crossing: number): Promise<AttemptStatus> {
    const stripe = this.stripe;
    if (!stripe) throw noStripe();
    const claim = await this.claim(walletId, crossing);
    if (claim.status !== 'creating') return claim.status;
    const a = claim.attempt;
    let pi: Stripe.PaymentIntent;
    try {
      pi = await stripe.paymentIntents.create(
        {
          amount: a.amount_cents as number,
          currency: 'usd',
          customer: claim.customer,
          payment_method: claim.paymentMethod,
          off_session: true,
          confirm: true,
          description: `Auto top-up: ${a.tokens} tokens`,
          metadata: {
            auto_top_up: 'true',
            wallet_id: walletId,
            owner_id: claim.ownerId,
            pack_id: a.pack_id as string,
            tokens: String(a.tokens),
            crossing: String(crossing),
          },
        },
        { idempotencyKey: a.idempotency_key },
      );
    } catch (e) {
      if (e instanceof Stripe.errors.StripeCardError) {
        const failed = (e.raw as { payment_intent?: { id?: string } } | undefined)?.payment_intent?.id ?? null;
        const status = e.code === 'authentication_required' ? 'requires_action' : 'failed';
        await this.db.transaction((tx) => this.fail(tx, walletId, crossing, failed, status, `${e.code ?? 'card_error'}: ${e.message}`));
        return status;
      }
      throw e; // a network or Stripe error: the job is retried with the same key
    }
    this.faultAfterCreate?.();
    if (pi.status === 'requires_action' || pi.status === 'requires_payment_method' || pi.status === 'canceled') {
      const status = pi.status === 'requires_action' ? 'requires_action' : 'failed';
      await this.db.transaction((tx) => this.fail(tx, walletId, crossing, pi.id, status, `payment intent ${pi.status}`));
      return status;
    }
    // Succeeded (or processing): the tokens come from the webhook, never from here.
    await this.db.run(
      `UPDATE auto_top_up_attempts SET payment_intent = $3, status = 'processing', updated_at = $4
       WHERE wallet_id = $1 AND crossing = $2 AND status = 'creating'`,
      [walletId, crossing, pi.id, this.clock.now()],
    );
    return 'processing';
  }

  private async claim(
    walletId: string,
    crossing: number,
  ): Promise<
    | { status: 'creating'; attempt: AttemptRow; customer: string; paymentMethod: string; ownerId: string }
    | { status: Exclude<AttemptStatus, 'creating'> }
  > {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const { rows: cfgRows } = await tx.sql.query<ConfigRow>(`SELECT * FROM auto_top_ups WHERE wallet_id = $1 FOR UPDATE`, [walletId]);
      const cfg = cfgRows[0];
      const { rows: pmRows } = await tx.sql.query<{ customer: string; payment_method: string }>(
        `SELECT customer, payment_method FROM stripe_payment_methods WHERE wallet_id = $1`,
        [walletId],
      );
      const { rows: owner } = await tx.sql.query<{ owner_id: string; status: string; flagged: boolean }>(
        `SELECT owner_id, status, flagged FROM wallets WHERE id = $1`,
        [walletId],
      );
      const { rows: existing } = await tx.sql.query<AttemptRow>(
        `SELECT * FROM auto_top_up_attempts WHERE wallet_id = $1 AND crossing = $2`,
        [walletId, crossing],
      );
      // A claimed crossing goes to Stripe with the wallet's saved card.
      const claimed = (attempt: AttemptRow) => ({
        status: 'creating' as const,
        attempt,
        customer: pmRows[0].customer,
        paymentMethod: pmRows[0].payment_method,
        ownerId: owner[0].owner_id,
      });
      if (existing[0]) {
        const a = existing[0];
        if (a.status !== 'creating') return { status: a.status };
        return claimed(a);
      }
      const key = `tw-auto-top-up-${walletId}-${crossing}`;
      const skip = async (reason: string) => {
        await tx.sql.query(
          `INSERT INTO auto_top_up_attempts (wallet_id, crossing, month, idempotency_key, status, error, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'skipped', $5, $6, $6)`,
          [walletId, crossing, monthOf(now), key, reason, now],
        );
        this.log.info({ wallet_id: walletId, crossing, reason }, 'auto top-up skipped');
        return { status: 'skipped' as const };
      };
      if (!cfg?.enabled) return skip('auto top-up is off');
      // A wallet frozen (a dispute, an admin) or flagged (a chargeback loss) is not charged off-session:
      // a disputing cardholder charged again disputes again. Its next crossing after it is cleared tries.
      if (owner[0].status === 'frozen') return skip('the wallet is frozen');
      if (owner[0].flagged) return skip('the wallet is flagged for chargeback losses');
      if (!pmRows[0]) return skip('no saved payment method');
      const pack = this.catalog.packs.find((p) => p.id === cfg.pack_id);
      if (!pack) return skip(`pack ${cfg.pack_id} is no longer in the catalog`);
      const { rows: open } = await tx.sql.query(
        `SELECT 1 FROM auto_top_up_attempts WHERE wallet_id = $1 AND status IN ('creating', 'processing')`,
        [walletId],
      );
      if (open.length) return skip('another top-up is in flight');
      const { rows: month } = await tx.sql.query<{ n: number }>(THIS_MONTH, [walletId, monthOf(now)]);
      if (month[0].n >= cfg.max_per_month) return skip(`the monthly cap of ${cfg.max_per_month} top-ups is reached`);
      const { rows } = await tx.sql.query<AttemptRow>(
        `INSERT INTO auto_top_up_attempts (wallet_id, crossing, month, pack_id, tokens, amount_cents, idempotency_key, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'creating', $8, $8) RETURNING *`,
        [walletId, crossing, monthOf(now), pack.id, pack.tokens, pack.usd_cents, key, now],
      );
      return claimed(rows[0]);
    });
  }

  /**
   * A failed attempt (a decline, authentication required), from the job or the
   * webhook, whichever comes first: counted once. The third in a row turns auto top-up off.
   */
  async fail(
    tx: Tx,
    walletId: string,
    crossing: number,
    paymentIntent: string | null,
    status: 'failed' | 'requires_action',
    reason: string,
  ) {
    const now = this.clock.now();
    await tx.sql.query(`SELECT 1 FROM auto_top_ups WHERE wallet_id = $1 FOR UPDATE`, [walletId]);
    const { rows } = await tx.sql.query(
      `UPDATE auto_top_up_attempts SET status = $3, error = $4, payment_intent = coalesce(payment_intent, $5), updated_at = $6
       WHERE wallet_id = $1 AND crossing = $2 AND status IN ('creating', 'processing') RETURNING 1`,
      [walletId, crossing, status, reason, paymentIntent, now],
    );
    if (rows.length === 0) return;
    const { rows: cfg } = await tx.sql.query<{ failures: number; owner_id: string }>(
      `UPDATE auto_top_ups a SET failures = failures + 1, updated_at = $2,
         enabled = CASE WHEN failures + 1 >= $3 THEN false ELSE enabled END,
         disabled_reason = CASE WHEN failures + 1 >= $3 THEN $4 ELSE disabled_reason END
       FROM wallets w WHERE a.wallet_id = $1 AND w.id = a.wallet_id RETURNING a.failures, w.owner_id`,
      [walletId, now, FAILURES_TO_DISABLE, `${FAILURES_TO_DISABLE} failures in a row; the last: ${reason}`],
    );
    const disabled = (cfg[0]?.failures ?? 0) >= FAILURES_TO_DISABLE;
    if (disabled && cfg[0]) await this.ledger.deleteAlert(cfg[0].owner_id, AUTO_TOP_UP_ALERT, now, tx);
    await this.ledger.note(
      tx,
      walletId,
      'auto_top_up.failed',
      { crossing, payment_intent: paymentIntent, status, reason, failures: cfg[0]?.failures ?? null, disabled },
      now,
    );
    this.log.warn({ wallet_id: walletId, crossing, payment_intent: paymentIntent, reason, disabled }, 'auto top-up failed');
  }

  /** The webhook (or reconcile) saw the PaymentIntent succeed and credited it: the attempt is done, failures reset. */
  async succeeded(tx: Tx, walletId: string, crossing: number, paymentIntent: string, tokens: number): Promise<void> {
    const now = this.clock.now();
    await tx.sql.query(`SELECT 1 FROM auto_top_ups WHERE wallet_id = $1 FOR UPDATE`, [walletId]);
    const { rows } = await tx.sql.query(
      `UPDATE auto_top_up_attempts SET status = 'succeeded', payment_intent = $3, error = NULL, updated_at = $4
       WHERE wallet_id = $1 AND crossing = $2 AND status <> 'succeeded' RETURNING 1`,
      [walletId, crossing, paymentIntent, now],
    );
    if (rows.length === 0) return;
    await tx.sql.query(`UPDATE auto_top_ups SET failures = 0, updated_at = $2 WHERE wallet_id = $1`, [walletId, now]);
    await this.ledger.note(
      tx,
      walletId,
      'auto_top_up.succeeded',
      { crossing, payment_intent: paymentIntent, tokens: formatTokens(BigInt(tokens) * 1000n) },
      now,
    );
  }

  /**
   * An auto top-up's PaymentIntent succeeded (the webhook, or reconcile when
   * it never came): credited once, keyed by the intent, then its attempt is done.
   */
  async applySucceeded(tx: Tx, pi: Stripe.PaymentIntent, at: Date): Promise<EffectResult> {
    const walletId = pi.metadata?.wallet_id;
    const crossing = Number(pi.metadata?.crossing);
    if (!isWalletId(walletId)) return 'ignored';
    // Lock order everywhere: the auto top-up row, then the payment, then the wallet.
    await tx.sql.query(`SELECT 1 FROM auto_top_ups WHERE wallet_id = $1 FOR UPDATE`, [walletId]);
    const r = await this.effects.creditAutoTopUp(tx, pi, at);
    if ((r === 'credited' || r === 'already_credited') && Number.isSafeInteger(crossing)) {
      await this.succeeded(tx, walletId, crossing, pi.id, Number(pi.metadata.tokens));
    }
    return r;
  }

  /**
   * Reconcile: asks Stripe about every attempt left open for more than a
   * minute. A PaymentIntent that succeeded without its webhook is credited
   * (once); one that failed counts as a failure; an attempt whose intent was
   * never recorded (the worker died) is retried with its idempotency key.
   */
  async reconcile(onResult: (what: string, r: EffectResult | AttemptStatus) => void): Promise<number> {
    const stripe = this.stripe;
    if (!stripe) throw noStripe();
    const open = await this.openAttempts(60_000);
    for (const a of open) {
      const what = `auto top-up ${a.wallet_id}#${a.crossing}`;
      if (!a.payment_intent) {
        // Stripe keeps an idempotency key for 24 hours: past that, asking again with it could charge twice.
        if (this.clock.now().getTime() - a.created_at.getTime() > STRIPE_KEY_WINDOW_MS) {
          onResult(what, await this.abandon(a));
          continue;
        }
        onResult(what, await this.attempt(a.wallet_id, Number(a.crossing)));
        continue;
      }
      const pi = await stripe.paymentIntents.retrieve(a.payment_intent);
      if (pi.status === 'succeeded') {
        onResult(what, await this.db.transaction((tx) => this.applySucceeded(tx, pi, this.clock.now())));
      } else if (pi.status === 'requires_payment_method' || pi.status === 'canceled' || pi.status === 'requires_action') {
        const status = pi.status === 'requires_action' ? 'requires_action' : 'failed';
        await this.db.transaction((tx) => this.fail(tx, a.wallet_id, Number(a.crossing), pi.id, status, `payment intent ${pi.status}`));
        onResult(what, status);
      } else onResult(what, 'processing');
    }
    return open.length;
  }

  /**
   * An attempt whose PaymentIntent was never recorded, made longer ago than
   * Stripe keeps its idempotency key: not asked again (that could charge a
   * second time). It ends failed without counting as a card failure; a
   * payment that did go through is still credited by its webhook, which
   * marks the attempt succeeded.
   */
  private async abandon(a: AttemptRow): Promise<AttemptStatus> {
    await this.db.run(
      `UPDATE auto_top_up_attempts SET status = 'failed', error = $3, updated_at = $4
       WHERE wallet_id = $1 AND crossing = $2 AND status = 'creating' AND payment_intent IS NULL`,
      [
        a.wallet_id,
        a.crossing,
        'abandoned: never confirmed within the 24 hours Stripe keeps its idempotency key; not retried',
        this.clock.now(),
      ],
    );
    this.log.warn({ wallet_id: a.wallet_id, crossing: a.crossing }, 'auto top-up abandoned past the idempotency window');
    return 'failed';
  }

  /** Open attempts older than `olderThanMs`, for reconcile. */
  async openAttempts(olderThanMs: number): Promise<AttemptRow[]> {
    return this.db.query<AttemptRow>(
      `SELECT * FROM auto_top_up_attempts WHERE status IN ('creating', 'processing') AND updated_at < $1 ORDER BY updated_at LIMIT 1000`,
      [new Date(this.clock.now().getTime() - olderThanMs)],
    );
  }

  get pollMs(): number {
    return this.config.AUTO_TOP_UP_POLL_MS;
  }
}
