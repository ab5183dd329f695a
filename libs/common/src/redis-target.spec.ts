import { describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { hasHashTag, parseRedisUrl, redactedRedisUrl, SettlingCluster } from './redis-target.js';

describe('parseRedisUrl', () => {
  it('reads one server with auth, db and TLS', () => {
    expect(parseRedisUrl('rediss://user:p%40ss@cache.internal:6380/3')).toEqual({
      cluster: false,
      nodes: [{ host: 'cache.internal', port: 6380 }],
      username: 'user',
      password: 'p@ss',
      db: 3,
      tls: true,
    });
    expect(parseRedisUrl('redis://127.0.0.1').nodes).toEqual([{ host: '127.0.0.1', port: 6379 }]);
  });

  it('reads the seed nodes of a cluster, IPv6 included', () => {
    const t = parseRedisUrl('redis+cluster://:pw@10.0.0.1:7000,[::1]:7001,node-3');
    expect(t.cluster).toBe(true);
    expect(t.password).toBe('pw');
    expect(t.nodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'node-3', port: 6379 },
    ]);
  });

  it.each(['localhost:6379', 'http://x:1', 'redis://a:1,b:2', 'redis+cluster://a:0', 'redis+cluster://a:1/1', 'redis://a b:1'])(
    'refuses %s',
    (url) => expect(() => parseRedisUrl(url)).toThrow(),
  );

  it('masks the password when shown', () => {
    expect(redactedRedisUrl('redis+cluster://u:secret@a:1,b:2')).toBe('redis+cluster://u:***@a:1,b:2');
    expect(redactedRedisUrl('redis://127.0.0.1:1')).toBe('redis://127.0.0.1:1');
  });

  it('knows a hash tag as Redis Cluster does', () => {
    expect(['{tw}', 'prod:{tw}', '{a}{b}'].map(hasHashTag)).toEqual([true, true, true]);
    expect(['tw', '{}tw', '}tw{', 'tw{'].map(hasHashTag)).toEqual([false, false, false, false]);
  });
});

/**
 * One node of a fake Redis Cluster that owns every slot. Its CLUSTER INFO says
 * `cluster_state:fail` to the first `failing` ready checks (a master just died,
 * no replica promoted yet) and `ok` after them.
 */
async function fakeClusterNode(failing: number): Promise<{ port: number; readyChecks: () => number; close: () => Promise<void> }> {
  let checks = 0;
  const sockets = new Set<Socket>();
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      // Each command is an array of bulk strings: *N, then $len and the argument N times.
      for (;;) {
        const lines = buf.split('\r\n');
        const n = /^\*(\d+)$/.exec(lines[0] ?? '');
        if (!n || lines.length < 1 + 2 * Number(n[1]) + 1) return;
        const args = Array.from({ length: Number(n[1]) }, (_, i) => lines[2 + 2 * i]);
        buf = lines.slice(1 + 2 * Number(n[1])).join('\r\n');
        const cmd = args.slice(0, 2).join(' ').toUpperCase();
        if (cmd === 'CLUSTER SLOTS') {
          const { port } = server.address() as AddressInfo;
          socket.write(`*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n${bulk('127.0.0.1')}:${port}\r\n`);
        } else if (cmd === 'CLUSTER INFO') {
          socket.write(bulk(`cluster_state:${++checks <= failing ? 'fail' : 'ok'}\r\n`));
        } else if (cmd.startsWith('INFO')) {
          socket.write(bulk('# Server\r\nredis_version:7.0.15\r\nloading:0\r\n'));
        } else {
          socket.write('+OK\r\n');
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    readyChecks: () => checks,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** 'resolved', 'rejected' or, if neither within `ms`, 'pending'. */
function outcome(p: Promise<unknown>, ms: number): Promise<'resolved' | 'rejected' | 'pending'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('pending'), ms);
    p.then(
      () => (clearTimeout(timer), resolve('resolved')),
      () => (clearTimeout(timer), resolve('rejected')),
    );
  });
}

async function untilStatus(client: Cluster, status: string): Promise<void> {
  for (let i = 0; i < 100 && client.status !== status; i++) await new Promise((r) => setTimeout(r, 20));
  expect(client.status).toBe(status);
}

describe('SettlingCluster', () => {
  it('settles connect() when a failed ready check made ioredis reconnect, where ioredis’ own connect() never does', async () => {
    const nodes = [await fakeClusterNode(1), await fakeClusterNode(1)];
    const plain = new Cluster([{ host: '127.0.0.1', port: nodes[0].port }], { lazyConnect: true });
    const settling = new SettlingCluster([{ host: '127.0.0.1', port: nodes[1].port }], { lazyConnect: true });
    try {
      const plainConnect = plain.connect();
      const settlingConnect = settling.connect();
      expect(await outcome(settlingConnect, 5_000)).toBe('resolved');
      expect(settling.status).toBe('ready');
      // The same sequence on ioredis' Cluster: ready again after its retry, the first connect() left pending.
      await untilStatus(plain, 'ready');
      expect(nodes.map((n) => n.readyChecks())).toEqual([2, 2]);
      expect(await outcome(plainConnect, 500)).toBe('pending');
    } finally {
      plain.disconnect();
      settling.disconnect();
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('rejects connect() when the client gives up after a failed ready check', async () => {
    const node = await fakeClusterNode(1);
    const settling = new SettlingCluster([{ host: '127.0.0.1', port: node.port }], { lazyConnect: true, clusterRetryStrategy: () => null });
    try {
      expect(await outcome(settling.connect(), 5_000)).toBe('rejected');
      expect(settling.status).toBe('end');
    } finally {
      settling.disconnect();
      await node.close();
    }
  });

  it('makes its duplicates SettlingClusters too', () => {
    const c = new SettlingCluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(c.duplicate()).toBeInstanceOf(SettlingCluster);
    c.disconnect();
  });
});
