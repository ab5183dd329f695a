export * from './http-post.js';
export * from './retry-policy.js';
export * from './signature.js';
export * from './url-guard.js';
export * from './webhook.processor.js';
export * from './webhook.service.js';
export * from './webhooks.module.js';
