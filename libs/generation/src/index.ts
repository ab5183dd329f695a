export { GenerationModule, GenerationWorkerModule } from './generation.module.js';
export { GenerationService, type WalletGeneration } from './generation.service.js';
export { GenerationFinisher, type Outcome } from './generation-finisher.js';
export { RecoveryService } from './recovery.service.js';
export { GENERATE_JOB, GENERATION_MAINTENANCE_QUEUE, GENERATION_QUEUE } from './queues.js';
export {
  fakeEditPng,
  fakePng,
  type FakeProvider,
  type FakeProviderOptions,
  parseDirectives,
  PARTIAL_WINDOW_MS,
  startFakeProvider,
} from './providers/fake-provider.server.js';
export { FILES_ROUTE, ImageStorage, parseImageName } from './storage.js';
export { GenerationErrorDto, GenerationPriceDto } from './dto/views.dto.js';
export { EDIT_BODY_LIMIT, IMAGE_EDITS_ROUTE, MAX_INPUT_IMAGE_BYTES, MAX_INPUT_IMAGES } from './variants.js';
