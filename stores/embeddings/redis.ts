import type { Redis } from '../../clients/redis.js';
import { idRowKey } from './keys.js';
import { decodeTagged, encodeTagged } from './tagged-vector.js';

export interface IdRow {
  userId: string;
  /** The model version whose towers and item vectors the row was trained against. */
  version: string;
  row: Float32Array;
}

const encode = (r: IdRow): string => encodeTagged(r.version, r.row);

function decode(raw: string): { version: string; row: Float32Array } | undefined {
  const t = decodeTagged(raw);
  return t && { version: t.tag, row: t.vector };
}

// Writes a micro-batch's rows, drops the users' cached vectors and moves the partition's fence,
// all in one atomic script: a crash leaves either all of it or none, so a re-delivered
// micro-batch finds its offsets at or below the fence and is skipped (no row moves twice).
// Compare-and-set on the fence as in stores/popularity/redis.ts: returns -1, writing nothing,
// when the fence no longer holds the value the caller read (another consumer took the partition).
// KEYS: fence, one row key per row, then keys to delete. ARGV: expected fence, new fence, TTL
// (0: none), row count, then the encoded rows.
const SET_FENCED_SCRIPT = `
local fence = redis.call('GET', KEYS[1]) or '-1'
if fence ~= ARGV[1] then return -1 end
local ttl, n = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 1, n do
  if ttl > 0 then redis.call('SET', KEYS[1 + i], ARGV[4 + i], 'EX', ttl)
  else redis.call('SET', KEYS[1 + i], ARGV[4 + i]) end
end
for i = n + 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[1], ARGV[2])
return n
`;

/** A partition's fence: the last offset whose effect is in Redis (-1: none yet). */
export interface RowFence {
  key: string;
  expected: number;
  next: number;
}

/**
 * Incremental user-ID rows in Redis, each tagged with its model version: a reader asks for the
 * version it serves and gets nothing for a row of another one (rows of the previous version
 * are meaningless with the new towers, and the daily job's retire step removes them).
 */
export class RedisIdRowStore {
  constructor(
    private readonly redis: Redis,
    /** Rows of users who stop interacting expire (seconds; 0: never). */
    private readonly ttlSeconds = 0,
  ) {
    redis.defineCommand('setIdRowsFenced', { lua: SET_FENCED_SCRIPT });
  }

  /** The user's row with whatever version it has (the caller compares), and its raw text for fingerprints. */
  async getAny(userId: string): Promise<{ version: string; row: Float32Array; raw: string } | undefined> {
    const raw = await this.redis.get(idRowKey(userId));
    const r = raw ? decode(raw) : undefined;
    return r && raw ? { ...r, raw } : undefined;
  }

  async get(userId: string, version: string): Promise<Float32Array | undefined> {
    const raw = await this.redis.get(idRowKey(userId));
    const r = raw ? decode(raw) : undefined;
    return r && r.version === version ? r.row : undefined;
  }

  /** Rows of several users for one version, in the order asked (undefined: none for that version). */
  async getMany(userIds: string[], version: string): Promise<(Float32Array | undefined)[]> {
    if (userIds.length === 0) return [];
    const raws = await this.redis.mget(...userIds.map(idRowKey));
    return raws.map((raw) => {
      const r = raw ? decode(raw) : undefined;
      return r && r.version === version ? r.row : undefined;
    });
  }

  /** Writes the rows in one round trip (MULTI), so a batch's rows land together. */
  async setMany(rows: IdRow[]): Promise<void> {
    if (rows.length === 0) return;
    const tx = this.redis.multi();
    for (const r of rows)
      if (this.ttlSeconds > 0) tx.set(idRowKey(r.userId), encode(r), 'EX', this.ttlSeconds);
      else tx.set(idRowKey(r.userId), encode(r));
    const res = await tx.exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** The fence's value (-1 when unset). */
  async fence(key: string): Promise<number> {
    const raw = await this.redis.get(key);
    return raw === null ? -1 : Number(raw);
  }

  /**
   * Writes the rows, deletes `alsoDelete` and moves the fence from `expected` to `next`, atomically;
   * false (nothing written) when the fence no longer holds `expected`.
   */
  async setManyFenced(rows: IdRow[], fence: RowFence, alsoDelete: string[] = []): Promise<boolean> {
    const keys = [fence.key, ...rows.map((r) => idRowKey(r.userId)), ...alsoDelete];
    const args = [
      String(fence.expected),
      String(fence.next),
      this.ttlSeconds,
      rows.length,
      ...rows.map(encode),
    ];
    return Number(await this.redis.setIdRowsFenced(keys.length, ...keys, ...args)) >= 0;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    setIdRowsFenced(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
