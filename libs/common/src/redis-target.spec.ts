import { describe, expect, it } from '@jest/globals';
import { hasHashTag, parseRedisUrl, redactedRedisUrl } from './redis-target.js';

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
