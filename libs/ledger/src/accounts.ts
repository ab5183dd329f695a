/** System accounts (seeded by the CreateLedger and CreateMeteredReservations migrations). Never locked, never balance-updated: their balances are sums of entries. */
export const SYSTEM = {
  stripeClearing: '00000000-0000-4000-8000-000000000001',
  promotionalGrants: '00000000-0000-4000-8000-000000000002',
  revenue: '00000000-0000-4000-8000-000000000003',
  pendingHolds: '00000000-0000-4000-8000-000000000004',
  breakage: '00000000-0000-4000-8000-000000000005',
  chargebackLosses: '00000000-0000-4000-8000-000000000006',
  adjustments: '00000000-0000-4000-8000-000000000007',
  /** Metered usage above a hold and its max_overage: delivered, booked to revenue, not paid (CreateMeteredReservations). */
  uncollectedUsage: '00000000-0000-4000-8000-000000000008',
} as const;

export type SystemAccount = keyof typeof SYSTEM;
