/**
 * How each table would be placed on a distributed PostgreSQL (Citus):
 *   - `wallet`: distributed by wallet id (`wallet_id`; `wallets` by `id`) and co-located with `wallets`;
 *   - `reference`: small, read on the hot path, rarely written: a copy on every node;
 *   - `local`: neither: kept on the coordinator, or later distributed by a key of its own (not co-located).
 * test/ops/distribution.int-spec.ts checks it against the live migrated schema; docs/scaling.md explains it.
 */
export const DISTRIBUTION: Record<string, 'wallet' | 'reference' | 'local'> = {
  wallets: 'wallet',
  buckets: 'wallet',
  transfers: 'wallet',
  entries: 'wallet',
  reservations: 'wallet',
  generations: 'wallet',
  batches: 'wallet',
  stripe_payments: 'wallet',
  subscriptions: 'wallet',
  budgets: 'wallet',
  budget_counters: 'wallet',
  alerts: 'wallet',
  events: 'wallet',
  stripe_payment_methods: 'wallet',
  auto_top_ups: 'wallet',
  auto_top_up_attempts: 'wallet',
  generation_inputs: 'wallet',
  accounts: 'reference',
  prices: 'reference',
  provider_costs: 'reference',
  api_keys: 'reference',
  webhook_endpoints: 'reference',
  idempotency_keys: 'local',
  stripe_events: 'local',
  stripe_reversals: 'local',
  webhook_deliveries: 'local',
  webhook_endpoint_deliveries: 'local',
  webhook_endpoint_attempts: 'local',
  event_consumers: 'local',
  event_feed: 'local',
  audit_log: 'local',
  migrations: 'local',
};

/**
 * What still stops Citus from enforcing a wallet table's keys: each unique
 * index (or primary key) without wallet_id, and each wallet_id that may be
 * null. Changing them means changing foreign keys, ON CONFLICT targets of the
 * ledger functions or id-only lookups (docs/scaling.md, "What remains"). The
 * test fails when one of these is fixed and still listed, or a new one appears.
 */
export const KNOWN_GAPS = {
  uniqueWithoutWallet: [
    'auto_top_up_attempts.auto_top_up_attempts_idempotency_key_key',
    'auto_top_up_attempts.auto_top_up_attempts_payment_intent_key',
    'batches.batches_pkey',
    'buckets.buckets_grant_key_key',
    'buckets.buckets_pkey',
    'events.events_pos',
    'generations.generations_pkey',
    'generations.generations_reservation_id_key',
    'reservations.reservations_pkey',
    'stripe_payments.stripe_payments_pkey',
    'stripe_payments.stripe_payments_source_id_key',
    'subscriptions.subscriptions_pkey',
    'wallets.wallets_owner_id_key',
    'wallets.wallets_stripe_customer_id_key',
  ],
  nullableWalletId: [] as string[],
  noWalletKey: [] as string[],
};
