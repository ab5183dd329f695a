import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { HttpClient, HttpError } from './http-client.js';
import { type Progress, runTimed, type TimedResult } from './stats.js';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes and with PostgreSQL's now(). */
export const epochMs = () => performance.timeOrigin + performance.now();

/** One HTTP request the fake provider served: when it arrived, when its response was written out (epoch ms). */
export interface ProviderCall {
  prompt: string | null;
  status: number;
  startMs: number;
  endMs: number;
}

/** Parent -> fake-provider child. */
export type FakeCommand = { type: 'start'; latencyMs: number } | { type: 'collect' } | { type: 'close' };
/** Fake-provider child -> parent. */
export type FakeReply =
  { type: 'ready'; url: string } | { type: 'calls'; calls: ProviderCall[]; requests: number } | { type: 'failed'; error: string };

/** How a client learns that its generation is finished. */
export type WaitMode = 'db' | 'http';

/** What the generation load generator needs (plain data: it crosses the IPC channel). */
export interface GenLoadSpec {
  baseUrl: string;
  apiKey: string;
  /** The bench database, for the completion watcher (wait = 'db'). */
  databaseUrl: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  ownerPrefix: string;
  walletCount: number;
  model: string;
  /** Prefix of every prompt and Idempotency-Key of this run; the prompt is `${run} ${client}-${seq}`. */
  run: string;
  wait: WaitMode;
  pollMs: number;
  /** Longest a client waits for one generation before counting it as an error. */
  timeoutMs: number;
}

/** One generation as the client saw it (epoch ms). */
export interface ClientRecord {
  id: string;
  sentMs: number;
  acceptedMs: number;
  /** When the client learnt it was finished (watcher answer, or the GET that showed it). */
  seenMs: number;
}

export interface GenLoadResult {
  timed: TimedResult;
  /** Epoch ms at which the timed loops started: the window is [start + warm-up, start + warm-up + duration]. */
  startedMs: number;
  records: ClientRecord[];
  /** Completion queries of the watcher (wait = 'db'), in all. */
  watcherQueries: number;
  /** GET /v1/generations/{id} issued in all (wait = 'db': one per generation; 'http': every poll). */
  gets: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * wait = 'db': one shared watcher asks PostgreSQL every `pollMs` which of the
 * generations in flight are finished (one indexed query for all of them), so
 * completion costs the API nothing; the client then reads the result once over HTTP.
 */
class DoneWatcher {
  private readonly client: pg.Client;
  private readonly waiting = new Map<string, { resolve: (status: string) => void; reject: (e: Error) => void; until: number }>();
  private stopped = false;
  private loop: Promise<void> | null = null;
  queries = 0;

  constructor(
    databaseUrl: string,
    private readonly pollMs: number,
  ) {
    this.client = new pg.Client({ connectionString: databaseUrl, application_name: 'token-wallet-bench-watcher' });
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.loop = this.run();
  }

  wait(id: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject, until: performance.now() + timeoutMs }));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await sleep(this.pollMs);
      if (this.waiting.size === 0) continue;
      const ids = [...this.waiting.keys()];
      this.queries++;
      let rows: { id: string; status: string }[];
      try {
        ({ rows } = await this.client.query<{ id: string; status: string }>(
          `SELECT id, status FROM generations WHERE id = ANY($1::text[]) AND status IN ('succeeded', 'failed')`,
          [ids],
        ));
      } catch (e) {
        for (const id of ids) this.waiting.get(id)?.reject(new Error(`watcher query failed: ${(e as Error).message}`));
        for (const id of ids) this.waiting.delete(id);
        continue;
      }
      for (const r of rows) {
        this.waiting.get(r.id)?.resolve(r.status);
        this.waiting.delete(r.id);
      }
      const now = performance.now();
      for (const [id, w] of this.waiting) {
        if (now < w.until) continue;
        w.reject(new Error(`generation ${id} not finished after the wait limit`));
        this.waiting.delete(id);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
    for (const [id, w] of this.waiting) w.reject(new Error(`watcher stopped while waiting for ${id}`));
    this.waiting.clear();
    await this.client.end();
  }
}

interface GenerationBody {
  id: string;
  status: string;
  reserved: string;
  tokens_used: string;
  error: { code: string } | null;
}

/**
 * 64 (spec.clients) closed loops: POST /v1/image/generate (n = 1, a unique
 * prompt, a fresh Idempotency-Key) on a random wallet, wait until the
 * generation is finished, check that it succeeded and was charged one image.
 */
export async function runGenerationClients(
  spec: GenLoadSpec,
  progress?: (p: Progress) => void,
  onStarted?: (startedMs: number) => void,
): Promise<GenLoadResult> {
  const client = new HttpClient(spec.baseUrl, spec.apiKey, spec.clients);
  const watcher = spec.wait === 'db' ? new DoneWatcher(spec.databaseUrl, spec.pollMs) : null;
  const seq = new Array<number>(spec.clients).fill(0);
  const records: ClientRecord[] = [];
  let gets = 0;

  // A succeeded n = 1 generation is charged exactly what was reserved for it: one image.
  const check = (id: string, body: GenerationBody) => {
    if (body.status !== 'succeeded') throw new Error(`generation ${id} ${body.status}: ${JSON.stringify(body.error)}`);
    if (body.tokens_used !== body.reserved) throw new Error(`generation ${id} charged ${body.tokens_used}, reserved ${body.reserved}`);
  };
  const read = async (id: string): Promise<GenerationBody> => {
    gets++;
    const r = await client.request('GET', `/v1/generations/${id}`);
    if (r.status !== 200) throw new HttpError(`GET generation ${id}`, r);
    return JSON.parse(r.text) as GenerationBody;
  };

  try {
    await watcher?.start();
    const startedMs = epochMs();
    onStarted?.(startedMs);
    const timed = await runTimed({
      clients: spec.clients,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      progress,
      pair: async (c) => {
        const n = seq[c]++;
        const owner = `${spec.ownerPrefix}${Math.floor(Math.random() * spec.walletCount)}`;
        const body = { owner_id: owner, model: spec.model, prompt: `${spec.run} ${c}-${n}`, n: 1 };
        const sentMs = epochMs();
        const r = await client.request('POST', '/v1/image/generate', body, `${spec.run}-${c}-${n}`);
        if (r.status !== 202) throw new HttpError(`generate on ${owner}`, r);
        const acceptedMs = epochMs();
        const id = (JSON.parse(r.text) as GenerationBody).id;
        let seenMs: number;
        if (watcher) {
          await watcher.wait(id, spec.timeoutMs);
          seenMs = epochMs();
          check(id, await read(id));
        } else {
          const until = performance.now() + spec.timeoutMs;
          for (;;) {
            await sleep(spec.pollMs);
            const g = await read(id);
            if (g.status === 'succeeded' || g.status === 'failed') {
              seenMs = epochMs();
              check(id, g);
              break;
            }
            if (performance.now() > until) throw new Error(`generation ${id} still ${g.status} after ${spec.timeoutMs} ms`);
          }
        }
        records.push({ id, sentMs, acceptedMs, seenMs });
      },
    });
    return { timed, startedMs, records, watcherQueries: watcher?.queries ?? 0, gets };
  } finally {
    await watcher?.stop().catch(() => undefined);
    client.close();
  }
}
