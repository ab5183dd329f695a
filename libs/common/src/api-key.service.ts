import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { ApiKey, Scope } from './entities/api-key.entity.js';

export interface Principal {
  id: string;
  name: string;
  scope: Scope;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Keys are looked up on every request; a short cache keeps that off the database. */
const CACHE_MS = 10_000;

@Injectable()
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal | null; at: number }>();

  constructor(private readonly dataSource: DataSource) {}

  /** Creates a key and returns it in clear text: the only time it is ever seen. */
  async create(name: string, scope: Scope): Promise<{ key: string; principal: Principal }> {
    if (!/^.{1,100}$/.test(name)) throw new Error('name must be 1-100 characters');
    if (scope !== 'gateway' && scope !== 'admin') throw new Error('scope must be gateway or admin');
    const key = `tw_${scope === 'admin' ? 'adm' : 'gw'}_${randomBytes(24).toString('base64url')}`;
    const repo = this.dataSource.getRepository(ApiKey);
    const row = await repo.save(repo.create({ name, scope, keyHash: hashKey(key), keyPrefix: key.slice(0, 10), revokedAt: null }));
    return { key, principal: { id: row.id, name: row.name, scope: row.scope } };
  }

  async authenticate(key: string): Promise<Principal | null> {
    const hash = hashKey(key);
    const hit = this.cache.get(hash);
    const now = Date.now();
    if (hit && now - hit.at < CACHE_MS) return hit.principal;
    const row = await this.dataSource.getRepository(ApiKey).findOne({ where: { keyHash: hash, revokedAt: IsNull() } });
    const principal = row ? { id: row.id, name: row.name, scope: row.scope } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, at: now });
    return principal;
  }
}
