export * from './generation.module.js';
export * from './generation.service.js';
export * from './generation-finisher.js';
export * from './recovery.service.js';
export * from './queues.js';
export * from './providers/fake-provider.server.js';
export * from './webhooks/signature.js';
export * from './storage.js';
