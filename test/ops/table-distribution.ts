/**
 * How each table would be placed on a distributed PostgreSQL (Citus):
 *   - `wallet`: distributed by wallet id (`wallet_id`; `wallets` by `id`) and co-located with `wallets`;
 *   - `reference`: read on the hot path or where a request is routed, rarely written (at most once per wallet,
 *     customer or price): a copy on every node, which wallet tables may reference;
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
  wallet_owners: 'reference',
  stripe_customers: 'reference',
  prices: 'reference',
  provider_costs: 'reference',
  api_keys: 'reference',
  webhook_endpoints: 'reference',
  idempotency_keys: 'local',
  grant_claims: 'local',
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
 * null. None is left (migration WalletKeyedObjects); the test fails when one
 * appears.
 */
export const KNOWN_GAPS = {
  uniqueWithoutWallet: [] as string[],
  nullableWalletId: [] as string[],
  noWalletKey: [] as string[],
};
