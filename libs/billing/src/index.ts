export * from './billing.module.js';
export * from './billing.service.js';
export * from './catalog.js';
export * from './reconcile.service.js';
export * from './webhook-intake.service.js';
