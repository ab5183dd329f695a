export { AdminModule } from './admin.module.js';
export { type AuditEntry, AuditService } from './audit.service.js';
export { ReportsService } from './reports.service.js';
