import dc from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFakeProvider, type FakeProvider } from '../libs/generation/src/providers/fake-provider.server.js';
import { epochMs, type FakeCommand, type FakeReply, type ProviderCall } from './generation-clients.js';

/**
 * The fake image provider (libs/generation/src/providers/fake-provider.server.ts,
 * unchanged) in its own process, like a remote provider: its CPU is its own and
 * its event loop is not the API's. Each request is timed from the outside with
 * Node's http diagnostics channels: from the moment the request's headers are
 * parsed ('http.server.request.start') to the moment its response is written out
 * ('http.server.response.finish'). The body's chunks are copied as the HTTP
 * parser pushes them, so each call is keyed by its prompt.
 */
if (!process.send) throw new Error('bench/fake-provider-child.js is forked by bench/run.js');
const send = (m: FakeReply) => process.send!(m);

const open = new WeakMap<IncomingMessage, { startMs: number; chunks: Buffer[] }>();
const calls: ProviderCall[] = [];

dc.subscribe('http.server.request.start', (message) => {
  const { request } = message as { request: IncomingMessage };
  const state = { startMs: epochMs(), chunks: [] as Buffer[] };
  open.set(request, state);
  const push = request.push.bind(request);
  request.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (typeof chunk === 'string') state.chunks.push(Buffer.from(chunk, encoding));
    else if (chunk instanceof Uint8Array) state.chunks.push(Buffer.from(chunk));
    return push(chunk, encoding);
  };
});

dc.subscribe('http.server.response.finish', (message) => {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const endMs = epochMs();
  const state = open.get(request);
  if (!state) return;
  open.delete(request);
  let prompt: string | null = null;
  try {
    const body = JSON.parse(Buffer.concat(state.chunks).toString('utf8')) as { prompt?: unknown };
    if (typeof body.prompt === 'string') prompt = body.prompt;
  } catch {
    // not JSON: counted with a null prompt
  }
  calls.push({ prompt, status: response.statusCode, startMs: state.startMs, endMs });
});

let fake: FakeProvider | null = null;
// The parent is gone (Ctrl-C, crash): do not outlive it.
process.on('disconnect', () => process.exit(0));
process.on('message', (m: FakeCommand) => {
  if (m.type === 'start') {
    startFakeProvider({ host: '127.0.0.1', port: 0, latencyMs: m.latencyMs }).then(
      (f) => {
        fake = f;
        send({ type: 'ready', url: f.url });
      },
      (e: unknown) => send({ type: 'failed', error: String(e) }),
    );
  } else if (m.type === 'collect') {
    send({ type: 'calls', calls: calls.splice(0), requests: fake?.requests ?? 0 });
  } else {
    void (fake?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  }
});
