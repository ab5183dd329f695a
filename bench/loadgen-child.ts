import { type HttpLoadSpec, runHttpLoad } from './http-load.js';

/**
 * The HTTP load generator as a child process (forked by scenarios.ts with the
 * advanced IPC serialisation): its JavaScript runs on its own event loop and
 * its CPU time is its own, so the parent's event loop and CPU time are the API's.
 */
if (!process.send) throw new Error('bench/loadgen-child.js is forked by bench/run.js');
const send = process.send.bind(process);

process.once('message', (spec: HttpLoadSpec) => {
  runHttpLoad(spec, (p) => send({ type: 'progress', progress: p }))
    .then((result) => send({ type: 'done', result }, undefined, {}, () => process.disconnect()))
    .catch((e: unknown) => {
      send({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, undefined, {}, () => process.disconnect());
    });
});
