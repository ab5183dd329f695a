/**
 * The API's reservation object (spec section 6), built by the ledger's SQL
 * (ledger_reservation_view) so a stored idempotent response and a GET agree
 * to the byte. A pending hold past its expiry reads as expired.
 */
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
  ref: string | null;
  metadata: Record<string, unknown> | null;
  variant?: string;
  quantity?: number;
  price_version?: number;
}
