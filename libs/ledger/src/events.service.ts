import { Database, Errors } from '@app/common';
import { Injectable } from '@nestjs/common';
import { EVENT_TYPES } from './dto/controls.dto.js';
import type { EventView } from './views.js';
import { assertOwnerId } from './wallet.service.js';

export interface EventPage {
  data: EventView[];
  /** The id of the last event returned, or the `after` given when there was none: poll with it. */
  next_cursor: string | null;
}

export const eventId = (pos: string | number | bigint) => `evt_${pos}`;

/** An event as the feed queries select it. */
interface EventRow {
  pos: string;
  seq: string;
  type: string;
  created_at: Date;
  owner_id: string;
  data: Record<string, unknown>;
}

/** The columns of EventRow, from `events e JOIN wallets w`. */
const EVENT_COLUMNS = `e.pos::text, e.seq::text, e.type, e.created_at, w.owner_id, e.data`;

const eventView = (r: EventRow): EventView => ({
  id: eventId(r.pos),
  seq: Number(r.seq),
  type: r.type,
  created_at: r.created_at.toISOString(),
  owner_id: r.owner_id,
  data: r.data,
});

/**
 * The wallet event feed (spec section 9). Events are written by the ledger's
 * SQL in the transaction that changed the wallet; here they get their feed
 * position (events_sequence, after commit) and are read in that order.
 */
@Injectable()
export class EventsService {
  constructor(private readonly db: Database) {}

  /** Gives the committed events that have none a feed position; how many it positioned. */
  async sequence(limit = 10_000): Promise<number> {
    const rows = await this.db.query<{ n: number }>(`SELECT events_sequence($1) AS n`, [limit]);
    return rows[0].n;
  }

  /**
   * The feed's newest position once what has committed is positioned: a
   * consumer that wants only what happens from now on starts after it.
   */
  async head(): Promise<string> {
    await this.sequence();
    return this.lastPos();
  }

  private async lastPos(): Promise<string> {
    const rows = await this.db.query<{ last_pos: string }>(`SELECT last_pos::text FROM event_feed`);
    return rows[0].last_pos;
  }

  /**
   * The next events of the given types for one of the service's own
   * consumers (its cursor in event_consumers), in feed order, with their
   * wallet ids. `cursor` is where it has read to: pass it to {@link advance}
   * once they are handled (at least once: handle them idempotently).
   */
  async take(consumer: string, types: string[], limit = 500): Promise<{ events: (EventView & { wallet_id: string })[]; cursor: string }> {
    await this.sequence();
    await this.db.run(`INSERT INTO event_consumers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [consumer]);
    // The head comes from the same snapshot as the events: read apart, a position given in between
    // (by another process's sequence()) would fall under the cursor unseen.
    const rows = await this.db.query<Partial<EventRow> & { wallet_id: string | null; head: string }>(
      `WITH c AS (SELECT last_pos FROM event_consumers WHERE name = $1)
       SELECT f.last_pos::text AS head, x.* FROM event_feed f LEFT JOIN LATERAL (
         SELECT ${EVENT_COLUMNS}, e.wallet_id
         FROM events e JOIN wallets w ON w.id = e.wallet_id, c
         WHERE e.pos > c.last_pos AND e.type = ANY ($2) ORDER BY e.pos LIMIT $3) x ON true`,
      [consumer, types, limit],
    );
    const found = rows.filter((r): r is EventRow & { wallet_id: string; head: string } => r.pos != null);
    const events = found.map((r) => ({ ...eventView(r), wallet_id: r.wallet_id }));
    if (found.length === limit) return { events, cursor: found[found.length - 1].pos };
    // Fewer than asked: nothing else of these types is positioned up to the head, and what is
    // positioned later gets a position above it.
    return { events, cursor: rows[0].head };
  }

  /** Moves a consumer's cursor forward (never back: two processes may both advance it). */
  async advance(consumer: string, cursor: string): Promise<void> {
    await this.db.run(`UPDATE event_consumers SET last_pos = greatest(last_pos, $2::bigint), updated_at = now() WHERE name = $1`, [
      consumer,
      cursor,
    ]);
  }

  /** Events after `after`, in feed order: every committed event exactly once to a consumer following next_cursor. */
  async list(q: { after?: string; limit?: number; ownerId?: string; types?: string }): Promise<EventPage> {
    const types = q.types ? q.types.split(',') : null;
    const unknown = types?.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t)) ?? [];
    if (unknown.length > 0) {
      throw Errors.validation(`Unknown event type ${unknown.join(', ')}`, [
        { field: 'types', message: `types must be among ${EVENT_TYPES.join(', ')}` },
      ]);
    }
    let walletId: string | null = null;
    if (q.ownerId !== undefined) {
      assertOwnerId(q.ownerId);
      const rows = await this.db.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = $1`, [q.ownerId]);
      if (!rows[0]) throw Errors.notFound('wallet_not_found', `No wallet for owner ${q.ownerId}`);
      walletId = rows[0].id;
    }
    const after = q.after ? q.after.slice(4) : '0';
    const limit = q.limit ?? 100;
    await this.sequence();
    const rows = await this.db.read<EventRow>(
      `SELECT ${EVENT_COLUMNS}
       FROM events e JOIN wallets w ON w.id = e.wallet_id
       WHERE e.pos > $1::bigint AND ($2::uuid IS NULL OR e.wallet_id = $2) AND ($3::text[] IS NULL OR e.type = ANY ($3))
       ORDER BY e.pos LIMIT $4`,
      [after, walletId, types, limit],
    );
    const data = rows.map(eventView);
    return { data, next_cursor: data.length > 0 ? data[data.length - 1].id : (q.after ?? null) };
  }
}
