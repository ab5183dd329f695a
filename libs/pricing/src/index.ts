export * from './price-math.js';
export * from './pricing.module.js';
export * from './pricing.service.js';
