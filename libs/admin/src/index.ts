export * from './admin.module.js';
export * from './audit.service.js';
export * from './reports.service.js';
