import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * Where Redis is: one server (`redis://`, `rediss://`) or the seed nodes of a
 * Redis Cluster (`redis+cluster://host:port,host:port`, `rediss+cluster://`
 * for TLS). A cluster client finds the other nodes and the slot map itself.
 */
export interface RedisTarget {
  cluster: boolean;
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

const CLUSTER_PROTOCOLS = ['redis+cluster:', 'rediss+cluster:'];

/** Parses REDIS_URL; throws an Error saying what is wrong. */
export function parseRedisUrl(url: string): RedisTarget {
  const m = /^([a-z+]+:)\/\/(?:([^@/]*)@)?([^/?#]*)(\/[0-9]*)?$/i.exec(url.trim());
  if (!m) throw new Error('must be redis://[user:password@]host[:port][/db] or redis+cluster://host:port,host:port');
  const protocol = m[1].toLowerCase();
  const cluster = CLUSTER_PROTOCOLS.includes(protocol);
  if (!cluster && protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new Error('must start with redis://, rediss://, redis+cluster:// or rediss+cluster://');
  }
  const nodes = m[3].split(',').map((hp) => {
    const node = /^(\[[0-9a-f:]+\]|[A-Za-z0-9_.-]+)(?::([0-9]{1,5}))?$/i.exec(hp);
    const port = Number(node?.[2] ?? 6379);
    if (!node || port < 1 || port > 65535) throw new Error(`has a bad host:port ${JSON.stringify(hp)}`);
    return { host: node[1].replace(/^\[|\]$/g, ''), port };
  });
  if (!cluster && nodes.length !== 1) throw new Error('lists several hosts: a cluster is redis+cluster://host:port,host:port');
  const db = m[4] && m[4].length > 1 ? Number(m[4].slice(1)) : 0;
  if (cluster && db !== 0) throw new Error('names a database: a Redis Cluster has only database 0');
  const [user, pass] = (m[2] ?? '').split(':');
  return {
    cluster,
    nodes,
    username: user ? decodeURIComponent(user) : undefined,
    password: pass ? decodeURIComponent(pass) : undefined,
    db,
    tls: protocol.startsWith('rediss'),
  };
}

/** REDIS_CLUSTER_NODES (host:port,host:port) as the REDIS_URL it means. */
export function clusterUrl(nodes: string): string {
  return `redis+cluster://${nodes
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .join(',')}`;
}

/** True when `prefix` holds a Redis Cluster hash tag: a `{...}` with something inside, the first `{` deciding. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  return open >= 0 && prefix.indexOf('}', open + 1) > open + 1;
}

/** The URL with its password masked, for logs and health reports. */
export function redactedRedisUrl(url: string | undefined): string {
  if (!url) return '(unset)';
  try {
    const t = parseRedisUrl(url);
    const auth = t.username || t.password ? `${t.username ?? ''}${t.password ? ':***' : ''}@` : '';
    const scheme = `${t.tls ? 'rediss' : 'redis'}${t.cluster ? '+cluster' : ''}`;
    return `${scheme}://${auth}${t.nodes.map((n) => `${n.host}:${n.port}`).join(',')}${t.db ? `/${t.db}` : ''}`;
  } catch {
    return '(unparseable)';
  }
}

/** The per-node connection options of a target (auth, db, TLS) merged into `extra`. */
function nodeOptions(t: RedisTarget, extra: RedisOptions): RedisOptions {
  return {
    username: t.username,
    password: t.password,
    ...(t.cluster ? {} : { db: t.db }),
    ...(t.tls ? { tls: {} } : {}),
    ...extra,
  };
}

/**
 * ioredis' `Cluster` with a `connect()` that always settles.
 *
 * ioredis resolves `connect()` from the ready check that follows its first
 * slot refresh. When that check reads `cluster_state:fail` (a master has just
 * died and its replica is not promoted yet) ioredis drops the connection and
 * reconnects through its retry strategy, and the promise of that first
 * `connect()` is neither resolved nor rejected, though the client does come
 * back `ready` (redis/ioredis#709). BullMQ awaits `connect()` when it resets
 * a worker's blocking connection, so after a failover such a worker took no
 * more jobs and its `close()` never returned. Here `connect()` also settles
 * when the client itself becomes `ready` (resolved) or `end` (rejected).
 */
export class SettlingCluster extends Cluster {
  override connect(): Promise<void> {
    const attempt = super.connect();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const onReady = () => settle(null);
      const onEnd = () => settle(new Error('Connection is closed.'));
      const settle = (err: Error | null) => {
        if (settled) return;
        settled = true;
        this.off('ready', onReady);
        this.off('end', onEnd);
        if (err) reject(err);
        else resolve();
      };
      attempt.then(
        () => settle(null),
        (e: unknown) => settle(e instanceof Error ? e : new Error(String(e))),
      );
      // On the next tick: ioredis emits a status change on the tick after it sets it, so an `end` still
      // pending from before this call is not taken for the end of this attempt.
      process.nextTick(() => {
        if (settled) return;
        this.once('ready', onReady);
        this.once('end', onEnd);
      });
    });
  }

  /** ioredis' `duplicate()` builds a plain `Cluster`: this one builds a `SettlingCluster`. */
  override duplicate(overrideStartupNodes: ClusterNode[] = [], overrideOptions: ClusterOptions = {}): Cluster {
    const startupNodes =
      overrideStartupNodes.length > 0 ? overrideStartupNodes : (this as unknown as { startupNodes: ClusterNode[] }).startupNodes;
    return new SettlingCluster(startupNodes.slice(0), { ...this.options, ...overrideOptions });
  }
}

/**
 * A client for `url`: an ioredis `Redis` for one server, a `SettlingCluster`
 * for a cluster (its per-node options from `options`; `cluster` adds
 * cluster-level ones).
 */
export function redisClient(url: string, options: RedisOptions, cluster: Partial<ClusterOptions> = {}): Redis | Cluster {
  const t = parseRedisUrl(url);
  if (!t.cluster) return new Redis({ host: t.nodes[0].host, port: t.nodes[0].port, ...nodeOptions(t, options) });
  const { lazyConnect, enableOfflineQueue, ...node } = options;
  return new SettlingCluster(t.nodes, {
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    // A master that dies is replaced by its replica within cluster-node-timeout plus an election:
    // commands wait for the new slot map instead of failing at once.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    ...cluster,
    redisOptions: nodeOptions(t, node),
  });
}
