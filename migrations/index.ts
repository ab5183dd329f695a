import { CreateLedger1764100000000 } from './1764100000000-CreateLedger.js';
import { CreatePrices1764100001000 } from './1764100001000-CreatePrices.js';

/** Every migration, in order. A landed migration is never edited: add a new one. */
export const MIGRATIONS = [CreateLedger1764100000000, CreatePrices1764100001000];
