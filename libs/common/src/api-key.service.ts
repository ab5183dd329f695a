import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull, Repository } from 'typeorm';
import { ApiKey, Scope } from './entities/api-key.entity.js';

export interface Principal {
  id: string;
  name: string;
  scope: Scope;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  scope: Scope;
  /** The key's first 10 characters, to tell keys apart. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** No key of that id or name, or a name shared by several active keys: the message says which. */
export class ApiKeyLookupError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const newKey = (scope: Scope) => `tw_${scope === 'admin' ? 'adm' : 'gw'}_${randomBytes(24).toString('base64url')}`;

async function activeKey(repo: Repository<ApiKey>, idOrName: string): Promise<ApiKey> {
  const where = UUID.test(idOrName) ? { id: idOrName, revokedAt: IsNull() } : { name: idOrName, revokedAt: IsNull() };
  // FOR UPDATE: two rotations of one key never both succeed.
  const rows = await repo.find({ where, lock: { mode: 'pessimistic_write' } });
  if (rows.length === 0) throw new ApiKeyLookupError(`no active API key with id or name "${idOrName}" (see api-key list)`);
  if (rows.length > 1)
    throw new ApiKeyLookupError(`${rows.length} active API keys are named "${idOrName}": give the id instead (see api-key list)`);
  return rows[0];
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
    const key = newKey(scope);
    const repo = this.dataSource.getRepository(ApiKey);
    const row = await repo.save(repo.create({ name, scope, keyHash: hashKey(key), keyPrefix: key.slice(0, 10), revokedAt: null }));
    return { key, principal: { id: row.id, name: row.name, scope: row.scope } };
  }

  /** Every key, oldest first: never the key itself (it is not stored), only its first characters. */
  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.dataSource.getRepository(ApiKey).find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      scope: r.scope,
      prefix: r.keyPrefix,
      createdAt: r.createdAt,
      revokedAt: r.revokedAt,
    }));
  }

  /**
   * Revokes the active key with this id, or the one active key with this name.
   * Other processes stop accepting it within their cache's 10 s.
   */
  async revoke(idOrName: string): Promise<Principal> {
    return this.dataSource.transaction(async (em) => {
      const row = await activeKey(em.getRepository(ApiKey), idOrName);
      await em.getRepository(ApiKey).update({ id: row.id }, { revokedAt: new Date() });
      this.cache.clear();
      return { id: row.id, name: row.name, scope: row.scope };
    });
  }

  /** A new key with the same name and scope, and the old one revoked, in one transaction. */
  async rotate(idOrName: string): Promise<{ key: string; principal: Principal; revoked: Principal }> {
    return this.dataSource.transaction(async (em) => {
      const repo = em.getRepository(ApiKey);
      const old = await activeKey(repo, idOrName);
      await repo.update({ id: old.id }, { revokedAt: new Date() });
      const key = newKey(old.scope);
      const row = await repo.save(
        repo.create({ name: old.name, scope: old.scope, keyHash: hashKey(key), keyPrefix: key.slice(0, 10), revokedAt: null }),
      );
      this.cache.clear();
      return {
        key,
        principal: { id: row.id, name: row.name, scope: row.scope },
        revoked: { id: old.id, name: old.name, scope: old.scope },
      };
    });
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
