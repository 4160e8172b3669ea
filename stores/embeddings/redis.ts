import { type Redis, unlinkMatching } from '../../clients/redis.js';
import { type FencedPartition, fenceKeyOf } from '../fence.js';
import type { AppliedTally, AppliedUpdate, IdRow, IdRowStore, RowFence, StoredRow } from './index.js';
import {
  appliedKey,
  ID_ROW_PATTERN,
  idRowKey,
  userVectorKey,
  versionRowKey,
  versionRowPattern,
} from './keys.js';
import { decodeTagged, encodeTagged } from './tagged-vector.js';

const encode = (r: IdRow): string => encodeTagged(r.version, r.row);

function decode(raw: string): { version: string; row: Float32Array } | undefined {
  const t = decodeTagged(raw);
  return t && { version: t.tag, row: t.vector };
}

const keyOf = (r: IdRow): string =>
  r.slot === 'version' ? versionRowKey(r.version, r.userId) : idRowKey(r.userId);

/** The first of the raw rows tagged `version` (the live slot's, then the version's own). */
function pick(raws: readonly (string | null | undefined)[], version: string): StoredRow | undefined {
  for (const raw of raws) {
    const r = raw ? decode(raw) : undefined;
    if (r && raw && r.version === version) return { ...r, raw };
  }
  return undefined;
}

// Writes a micro-batch's rows, drops the users' cached vectors and moves the partition's fence,
// all in one atomic script: a crash leaves either all of it or none, so a re-delivered
// micro-batch finds its offsets at or below the fence and is skipped (no row moves twice).
// Compare-and-set on the fence as in stores/popularity/redis.ts: returns -1, writing nothing,
// when the fence no longer holds the value the caller read (another consumer took the partition).
// The users' applied-event records (the latest fingerprints, and the ledger when kept) go in the same step.
// KEYS: fence, n row keys, the rows' users' n cached vectors, m applied keys. ARGV: expected fence,
// new fence, TTL (0: none), n, m, the n encoded rows, then m triples (recent, events, fingerprint;
// events '' when no ledger is kept).
const SET_FENCED_SCRIPT = `
local fence = redis.call('GET', KEYS[1]) or '-1'
if fence ~= ARGV[1] then return -1 end
local ttl, n, m = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 1, n do
  if ttl > 0 then redis.call('SET', KEYS[1 + i], ARGV[5 + i], 'EX', ttl)
  else redis.call('SET', KEYS[1 + i], ARGV[5 + i]) end
end
for i = n + 2, 2 * n + 1 do redis.call('DEL', KEYS[i]) end
for j = 1, m do
  local key, at = KEYS[2 * n + 1 + j], 5 + n + 3 * (j - 1)
  redis.call('HSET', key, 'r', ARGV[at + 1])
  if ARGV[at + 2] ~= '' then
    redis.call('HINCRBY', key, 'n', ARGV[at + 2])
    redis.call('HINCRBY', key, 'h', ARGV[at + 3])
  end
  if ttl > 0 then redis.call('EXPIRE', key, ttl) end
end
redis.call('SET', KEYS[1], ARGV[2])
return n
`;

/** Incremental user-ID rows in Redis (`{version}\n{base64 float32}` under idRowKey). */
export class RedisIdRowStore implements IdRowStore {
  constructor(
    private readonly redis: Redis,
    /** Rows of users who stop interacting expire (seconds; 0: never). */
    private readonly ttlSeconds = 0,
  ) {
    redis.defineCommand('setIdRowsFenced', { lua: SET_FENCED_SCRIPT });
  }

  async getAny(userId: string): Promise<StoredRow | undefined> {
    const raw = await this.redis.get(idRowKey(userId));
    const r = raw ? decode(raw) : undefined;
    return r && raw ? { ...r, raw } : undefined;
  }

  async getOf(userId: string, version: string): Promise<StoredRow | undefined> {
    return pick(await this.redis.mget(idRowKey(userId), versionRowKey(version, userId)), version);
  }

  async get(userId: string, version: string): Promise<Float32Array | undefined> {
    return (await this.getOf(userId, version))?.row;
  }

  async getMany(userIds: string[], version: string): Promise<(Float32Array | undefined)[]> {
    if (userIds.length === 0) return [];
    // both slots of every user in one MGET: live keys, then the version's
    const raws = await this.redis.mget(
      ...userIds.map(idRowKey),
      ...userIds.map((u) => versionRowKey(version, u)),
    );
    const n = userIds.length;
    return userIds.map((_, i) => pick([raws[i], raws[n + i]], version)?.row);
  }

  /** Writes the rows in one round trip (MULTI), so a batch's rows land together. */
  async setMany(rows: IdRow[]): Promise<void> {
    if (rows.length === 0) return;
    const tx = this.redis.multi();
    for (const r of rows)
      if (this.ttlSeconds > 0) tx.set(keyOf(r), encode(r), 'EX', this.ttlSeconds);
      else tx.set(keyOf(r), encode(r));
    const res = await tx.exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  async fence(partition: FencedPartition): Promise<number> {
    const raw = await this.redis.get(fenceKeyOf(partition));
    return raw === null ? -1 : Number(raw);
  }

  async setManyFenced(
    rows: IdRow[],
    fence: RowFence,
    applied: readonly AppliedUpdate[] = [],
  ): Promise<boolean> {
    const keys = [
      fenceKeyOf(fence.partition),
      ...rows.map(keyOf),
      ...rows.map((r) => userVectorKey(r.userId)),
      ...applied.map((a) => appliedKey(a.userId)),
    ];
    const args: (string | number | Buffer)[] = [
      String(fence.expected),
      String(fence.next),
      this.ttlSeconds,
      rows.length,
      applied.length,
      ...rows.map(encode),
    ];
    for (const a of applied)
      args.push(a.recent, a.tally ? a.tally.events : '', a.tally ? a.tally.fingerprint : '');
    return Number(await this.redis.setIdRowsFenced(keys.length, ...keys, ...args)) >= 0;
  }

  async recentApplied(userIds: readonly string[]): Promise<Buffer[]> {
    if (userIds.length === 0) return [];
    const tx = this.redis.pipeline();
    for (const u of userIds) tx.hgetBuffer(appliedKey(u), 'r');
    const res = (await tx.exec()) ?? [];
    return userIds.map((_, i) => {
      const [err, v] = res[i] ?? [];
      if (err) throw err;
      return (v as Buffer | null) ?? Buffer.alloc(0);
    });
  }

  async applied(userIds: readonly string[]): Promise<AppliedTally[]> {
    if (userIds.length === 0) return [];
    const tx = this.redis.pipeline();
    for (const u of userIds) tx.hmget(appliedKey(u), 'n', 'h');
    const res = (await tx.exec()) ?? [];
    return userIds.map((userId, i) => {
      const [err, v] = res[i] ?? [];
      if (err) throw err;
      const [n, h] = (v as (string | null)[]) ?? [];
      return { userId, events: Number(n ?? 0), fingerprint: Number(h ?? 0) };
    });
  }

  dropAll(): Promise<number> {
    return unlinkMatching(this.redis, ID_ROW_PATTERN);
  }

  dropVersion(version: string): Promise<number> {
    return unlinkMatching(this.redis, versionRowPattern(version));
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    setIdRowsFenced(numKeys: number, ...keysAndArgs: (string | number | Buffer)[]): Promise<unknown>;
  }
}
