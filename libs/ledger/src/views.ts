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
  spender_id: string | null;
  api_key_id: string | null;
  variant?: string;
  quantity?: number;
  price_version?: number;
  /** A metered hold: its prices by unit, the usage it was reserved for and settled with, and what beyond the hold was paid or not. */
  meters?: Record<string, { price_id: string; version: number; tokens: string }>;
  estimate?: Record<string, number | string>;
  usage?: Record<string, number | string> | null;
  max_overage?: string;
  overage?: string;
  uncollected?: string;
}

/** A budget and its usage in the current period (ledger_budget_view). */
export interface BudgetView {
  name: string;
  scope: 'wallet' | 'api_key' | 'spender';
  subject: string | null;
  period: 'day' | 'week' | 'month' | 'total';
  limit: string;
  used: string;
  remaining: string;
  period_start: string | null;
  resets_at: string | null;
  created_at: string;
  updated_at: string;
}

/** An alert and its state (ledger_alert_view). */
export interface AlertView {
  name: string;
  type: 'balance_below' | 'budget_used';
  threshold: string | null;
  budget: string | null;
  percent: number | null;
  state: 'ok' | 'triggered';
  changed_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One event of the feed (spec section 9): `id` is evt_<position>, `seq` the wallet's own count. */
export interface EventView {
  id: string;
  seq: number;
  type: string;
  created_at: string;
  owner_id: string;
  data: Record<string, unknown>;
}
