export const GENERATION_QUEUE = 'generations';
export const GENERATION_MAINTENANCE_QUEUE = 'generation-maintenance';
export const GENERATE_JOB = 'generate';
