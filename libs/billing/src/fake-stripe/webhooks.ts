import { createHmac } from 'node:crypto';
import type Stripe from 'stripe';

export interface DeliverOptions {
  /** Sign with this secret instead of the configured one (a wrong secret -> the service must answer 400). */
  secret?: string;
  /** Unix seconds for `t=` (an old one -> outside the tolerance window). */
  timestamp?: number;
  /** Send this `Stripe-Signature` header verbatim (garbage, empty, …). */
  signature?: string;
}

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`, the header Stripe sends and `webhooks.constructEvent` checks. */
export function signHeader(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/** Stripe sends events pretty-printed; a handler that re-serializes the parsed body instead of verifying the raw bytes fails here as it would in production. */
export function eventPayload(event: Stripe.Event): string {
  return JSON.stringify(event, null, 2);
}

export class WebhookSender {
  constructor(
    public url: string | undefined,
    private readonly secret: string,
  ) {}

  /**
   * Signed at the wall clock, not the fake's clock: the receiver checks `t` against its own
   * Date.now() (constructEvent's 300 s tolerance), whatever time the test gives the objects.
   */
  signedHeader(payload: string, o: { secret?: string; timestamp?: number } = {}): string {
    return signHeader(payload, o.secret ?? this.secret, o.timestamp ?? Math.floor(Date.now() / 1000));
  }

  /** POSTs one event; the HTTP status, or 0 when the endpoint could not be reached (refused, reset, 30 s timeout). */
  async deliver(event: Stripe.Event, o: DeliverOptions = {}): Promise<number> {
    if (!this.url) throw new Error('FakeStripe: no webhookUrl set (startFakeStripe({ webhookUrl }) or setWebhookUrl)');
    const payload = eventPayload(event);
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': o.signature ?? this.signedHeader(payload, o),
        },
        body: payload,
        signal: AbortSignal.timeout(30_000),
      });
      // Drain the body so the keep-alive socket is released.
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** One after another, in order: the order a test asks for is the order the service sees. */
  async deliverAll(events: Stripe.Event[]): Promise<number[]> {
    const statuses: number[] = [];
    for (const e of events) statuses.push(await this.deliver(e));
    return statuses;
  }
}

/** One automatic delivery of an API-triggered event: which event, and the endpoint's HTTP status (0 = unreachable). */
export interface Delivery {
  eventId: string;
  type: string;
  status: number;
}

/**
 * Events caused by API calls (an off-session PaymentIntent succeeding or failing) are POSTed by the fake on its own,
 * as Stripe does, right after the call is answered: one call's events in order, calls independently. `hold` keeps
 * them back (recorded in `held`, for the test to send, e.g. FakeStripe.redeliver, or flushHeld).
 */
export class AutoDelivery {
  hold = false;
  readonly held: Stripe.Event[] = [];
  readonly log: Delivery[] = [];
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly hooks: WebhookSender) {}

  send(events: Stripe.Event[]): void {
    if (events.length === 0) return;
    if (this.hold || !this.hooks.url) {
      this.held.push(...events);
      return;
    }
    const p = (async () => {
      for (const e of events) this.log.push({ eventId: e.id, type: e.type, status: await this.hooks.deliver(e) });
    })();
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Resolves once every automatic delivery started so far has been answered. */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }
}
