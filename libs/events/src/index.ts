// The events lib's public surface: webhook endpoints of the wallet event feed and their dispatcher.
export { type DispatchRun, EVENT_WEBHOOK_USER_AGENT, WebhookDispatcher } from './dispatcher.js';
export { type AttemptView, type EndpointView, EndpointsService } from './endpoints.service.js';
export { EventsModule, EventsWorkerModule } from './events.module.js';
