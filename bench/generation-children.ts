import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FakeCommand, FakeReply, GenLoadResult, GenLoadSpec, ProviderCall } from './generation-clients.js';
import type { Progress } from './stats.js';

/** Scenario (e)'s child processes: the fake provider (fake-provider-child.ts) and the clients (generation-child.ts). */

/** The fake provider's child process. */
export class FakeChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static start(latencyMs: number): Promise<FakeChild> {
    const child = fork(fileURLToPath(new URL('./fake-provider-child.js', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: 'inherit',
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error('the fake provider did not start within 15 s'));
      }, 15_000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the fake provider exited with code ${code}`)));
      child.once('message', (m: FakeReply) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve(new FakeChild(child, m.url));
        else reject(new Error(`the fake provider failed to start: ${m.type === 'failed' ? m.error : m.type}`));
      });
      child.send({ type: 'start', latencyMs } satisfies FakeCommand);
    });
  }

  collect(): Promise<{ calls: ProviderCall[]; requests: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the fake provider did not hand over its timings')), 15_000);
      this.child.once('message', (m: FakeReply) => {
        clearTimeout(timer);
        if (m.type === 'calls') resolve({ calls: m.calls, requests: m.requests });
        else reject(new Error(`unexpected message from the fake provider: ${m.type}`));
      });
      this.child.send({ type: 'collect' } satisfies FakeCommand);
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.send({ type: 'close' } satisfies FakeCommand);
    });
  }
}

/** Runs the clients in a child process (generation-child.ts). */
export function runClientsInChild(
  spec: GenLoadSpec,
  progress: (p: Progress) => void,
  onStarted: (startedMs: number) => void,
): Promise<GenLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./generation-child.js', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: 'inherit',
    });
    let result: GenLoadResult | null = null;
    let failure: Error | null = null;
    child.on(
      'message',
      (
        m:
          | { type: 'progress'; progress: Progress }
          | { type: 'started'; startedMs: number }
          | { type: 'done'; result: GenLoadResult }
          | { type: 'failed'; error: string },
      ) => {
        if (m.type === 'progress') progress(m.progress);
        else if (m.type === 'started') onStarted(m.startedMs);
        else if (m.type === 'done') result = m.result;
        else failure = new Error(`generation load generator failed: ${m.error}`);
      },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(failure ?? new Error(`generation load generator exited with code ${code} and no result`));
    });
    child.send(spec);
  });
}
