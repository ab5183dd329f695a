import { ChildProcess } from 'node:child_process';
export { sleep, until } from '../support/wait.js';

/** A variable that test/cluster/run.sh exports; these suites cannot run without what it starts. */
export function clusterEnv(
  name: 'TW_REDIS_CLUSTER_URL' | 'TW_PGBOUNCER_URL' | 'TW_PG_PRIMARY_URL' | 'TW_PG_REPLICA_URL' | 'TW_CLUSTER_DIR',
): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these suites with npm run test:cluster (test/cluster/run.sh starts what they need)`);
  return v;
}

/** How a process ended: its exit code, or the signal that killed it. */
export interface Exit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** SIGTERM to each process, then waits until all have exited (SIGKILL after 15 s); how each ended. */
export async function stopAll(procs: ChildProcess[]): Promise<Exit[]> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<Exit>((resolve) => {
          const exit = () => ({ pid: p.pid, code: p.exitCode, signal: p.signalCode });
          if (p.exitCode !== null || p.signalCode !== null) return resolve(exit());
          const hard = setTimeout(() => p.kill('SIGKILL'), 15_000);
          p.once('exit', () => {
            clearTimeout(hard);
            resolve(exit());
          });
          p.kill('SIGTERM');
        }),
    ),
  );
}
