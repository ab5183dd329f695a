import { type GenLoadSpec, runGenerationClients } from './generation-clients.js';

/**
 * The generation load generator as a child process (forked by
 * generation-children.ts): its clients and completion watcher run on their own
 * event loop, so the parent's event loop and CPU time are the API's and the worker's.
 */
if (!process.send) throw new Error('bench/generation-child.js is forked by bench/run.js');
const send = process.send.bind(process);
process.on('disconnect', () => process.exit(0));

process.once('message', (spec: GenLoadSpec) => {
  runGenerationClients(
    spec,
    (p) => send({ type: 'progress', progress: p }),
    (startedMs) => send({ type: 'started', startedMs }),
  )
    .then((result) => send({ type: 'done', result }, undefined, {}, () => process.disconnect()))
    .catch((e: unknown) => {
      send({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, undefined, {}, () => process.disconnect());
    });
});
