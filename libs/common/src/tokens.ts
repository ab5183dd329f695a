export const APP_CONFIG = Symbol('APP_CONFIG');
export const LOGGER = Symbol('LOGGER');
/** The BullMQ queue of ledger maintenance jobs (reservation sweep, grant expiry). */
export const MAINTENANCE_QUEUE = 'ledger-maintenance';
