import { ChildProcess } from 'node:child_process';

/** A variable that test/cluster/run.sh exports; these suites cannot run without what it starts. */
export function clusterEnv(
  name: 'TW_REDIS_CLUSTER_URL' | 'TW_PGBOUNCER_URL' | 'TW_PG_PRIMARY_URL' | 'TW_PG_REPLICA_URL' | 'TW_CLUSTER_DIR',
): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these suites with npm run test:cluster (test/cluster/run.sh starts what they need)`);
  return v;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until `done` holds, or fails naming `what` with the last value. */
export async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

/** SIGTERM to each process, then waits until all have exited (SIGKILL after 15 s). */
export async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          const hard = setTimeout(() => p.kill('SIGKILL'), 15_000);
          p.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          p.kill('SIGTERM');
        }),
    ),
  );
}
