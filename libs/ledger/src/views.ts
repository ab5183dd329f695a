import { formatTokens } from '@app/common';
import type { ReservationRow } from './ledger-sql.js';

/** The API's reservation object (spec section 6). */
export interface ReservationView {
  id: string;
  owner_id: string;
  status: 'pending' | 'settled' | 'released' | 'expired';
  reserved: string;
  settled: string;
  released: string;
  expires_at: string;
  created_at: string;
  finished_at: string | null;
  variant?: string;
  quantity?: number;
  price_version?: number;
  ref: string | null;
  metadata: Record<string, unknown> | null;
}

/** A pending hold past its expiry reads as expired before the sweeper gets to it. */
export function reservationView(r: ReservationRow, ownerId: string, now: Date): ReservationView {
  const lapsed = r.status === 'pending' && r.expires_at.getTime() <= now.getTime();
  const v: ReservationView = {
    id: r.id,
    owner_id: ownerId,
    status: lapsed ? 'expired' : r.status,
    reserved: formatTokens(BigInt(r.reserved)),
    settled: formatTokens(BigInt(r.settled)),
    released: formatTokens(BigInt(r.released)),
    expires_at: r.expires_at.toISOString(),
    created_at: r.created_at.toISOString(),
    finished_at: r.finished_at ? r.finished_at.toISOString() : null,
    ref: r.ref,
    metadata: r.metadata,
  };
  if (r.variant) {
    v.variant = r.variant;
    v.quantity = r.quantity ?? undefined;
    v.price_version = r.price_version ?? undefined;
  }
  return v;
}
