import { parentPort, workerData } from 'node:worker_threads';
import { type HttpLoadSpec, runHttpLoad } from './http-load.js';

/**
 * The HTTP load generator as a worker_thread entry point: it runs on its own
 * event loop, so the API's event loop (the main thread) serves requests
 * without also running the clients' JavaScript.
 */
if (!parentPort) throw new Error('bench/http-worker.js is a worker_thread entry point');
const port = parentPort;
const spec = workerData as HttpLoadSpec;

runHttpLoad(spec, (p) => port.postMessage({ type: 'progress', progress: p }))
  .then((result) => port.postMessage({ type: 'done', result }, [result.latenciesMs.buffer as ArrayBuffer]))
  .catch((e: unknown) => port.postMessage({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
