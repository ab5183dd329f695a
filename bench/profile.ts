import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * BENCH_PROFILE=<dir>: a V8 CPU profile of this process (the API for a/b, the
 * pg loops for c/d) over one measurement window, written to <dir>/<name>.cpuprofile
 * (open it in Chrome DevTools or speedscope).
 */
export class WindowProfiler {
  private session: Session | null = null;

  constructor(private readonly dir: string) {}

  private post<T>(method: string, params?: object): Promise<T> {
    return new Promise((resolve, reject) => {
      this.session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
    });
  }

  async start(): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.post('Profiler.enable');
    await this.post('Profiler.setSamplingInterval', { interval: 500 });
    await this.post('Profiler.start');
  }

  async stop(name: string): Promise<string | null> {
    if (!this.session) return null;
    const { profile } = await this.post<{ profile: unknown }>('Profiler.stop');
    this.session.disconnect();
    this.session = null;
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return file;
  }
}
