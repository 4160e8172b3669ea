import type { Redis } from '../../clients/redis.js';
import { type FencedPartition, fenceKeyOf } from '../fence.js';
import {
  type ArmResults,
  type Attribution,
  type CommitResult,
  countDeltas,
  type ExperimentResultStore,
} from './index.js';
import type { GuardedHashWrite } from './join-state.js';
import { countsKey, dayOf, daysKey, exposedKey } from './keys.js';

// One batch of a partition in one script: only if the fence still holds what the caller read
// and every user's join state is still at the version the caller joined against (else nothing
// is written and the script says what moved), writes the users' states, applies the counts and
// moves the fence. The states and the counts they imply cannot part: a crash leaves both or
// neither, and a batch delivered again finds its offsets at or below the fence.
// KEYS: fence, n user states, then per count hash: its experiment's days index, the hash.
// ARGV: expected fence, new fence, counts TTL, n, per user: version, TTL, #set pairs, #del,
// the pairs, the deleted fields; then per hash: day, m, then m pairs (increment, field).
// Returns {0} when written, {1, fence} when the fence moved, {2, i…} with the moved users.
const COMMIT = `
local fence = redis.call('GET', KEYS[1]) or '-1'
if fence ~= ARGV[1] then return {1, fence} end
local n = tonumber(ARGV[4])
local a = 5
local at = {}
local moved = {2}
for u = 1, n do
  local v = redis.call('HGET', KEYS[1 + u], 'v') or '0'
  if v ~= ARGV[a] then moved[#moved + 1] = u - 1 end
  at[u] = a
  a = a + 4 + 2 * tonumber(ARGV[a + 2]) + tonumber(ARGV[a + 3])
end
if #moved > 1 then return moved end
for u = 1, n do
  local key, b = KEYS[1 + u], at[u]
  local p = b + 4
  for j = 1, tonumber(ARGV[b + 2]) do
    redis.call('HSET', key, ARGV[p], ARGV[p + 1])
    p = p + 2
  end
  for j = 1, tonumber(ARGV[b + 3]) do
    redis.call('HDEL', key, ARGV[p])
    p = p + 1
  end
  redis.call('HSET', key, 'v', tonumber(ARGV[b]) + 1)
  redis.call('EXPIRE', key, ARGV[b + 1])
end
local ttl = tonumber(ARGV[3])
for k = 2 + n, #KEYS, 2 do
  local day, m = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  for j = 1, m do
    redis.call('HINCRBY', KEYS[k + 1], ARGV[a + 1], ARGV[a])
    a = a + 2
  end
  redis.call('SADD', KEYS[k], day)
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[k + 1], ttl)
    redis.call('EXPIRE', KEYS[k], ttl)
  end
end
if tonumber(ARGV[2]) > tonumber(fence) then redis.call('SET', KEYS[1], ARGV[2]) end
return {0}
`;

/** Results are kept this long after their last write: longer than any experiment runs. */
const TTL_SECONDS = 90 * 86_400;

/**
 * Experiment results in Redis. The days index is per experiment, so the count keys of one
 * experiment's batch need not share a Redis Cluster slot with another experiment's.
 */
export class RedisExperimentResultStore implements ExperimentResultStore {
  constructor(private readonly redis: Redis) {
    redis.defineCommand('commitExperiment', { lua: COMMIT });
  }

  async markExposed(
    rows: { experiment: string; arm: string; user_id: string; ts: number }[],
  ): Promise<{ experiment: string; arm: string; added: number }[]> {
    if (rows.length === 0) return [];
    const byKey = new Map<string, { experiment: string; arm: string; day: string; users: Set<string> }>();
    for (const r of rows) {
      const day = dayOf(r.ts);
      const key = exposedKey(r.experiment, r.arm, day);
      const g = byKey.get(key) ?? { experiment: r.experiment, arm: r.arm, day, users: new Set<string>() };
      byKey.set(key, g);
      g.users.add(r.user_id);
    }
    const p = this.redis.pipeline();
    for (const [key, g] of byKey) {
      p.sadd(key, ...g.users).expire(key, TTL_SECONDS);
      p.sadd(daysKey(g.experiment), g.day).expire(daysKey(g.experiment), TTL_SECONDS);
    }
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    // four replies per key: SADD of the users first
    return [...byKey.values()].map((g, i) => ({
      experiment: g.experiment,
      arm: g.arm,
      added: Number(results[i * 4]?.[1] ?? 0),
    }));
  }

  async fence(p: FencedPartition): Promise<number> {
    return Number((await this.redis.get(fenceKeyOf(p))) ?? -1);
  }

  async commit(
    p: FencedPartition,
    expected: number,
    lastOffset: number,
    rows: readonly Attribution[],
    states: readonly GuardedHashWrite[],
  ): Promise<CommitResult> {
    const hashes = new Map<string, { days: string; day: string; fields: Map<string, number> }>();
    for (const r of rows) {
      const day = dayOf(r.ts);
      const key = countsKey(r.experiment, r.arm, day);
      const h = hashes.get(key) ?? { days: daysKey(r.experiment), day, fields: new Map<string, number>() };
      hashes.set(key, h);
      const bump = (field: string, n: number) => {
        if (n !== 0) h.fields.set(field, (h.fields.get(field) ?? 0) + n);
      };
      const d = countDeltas(r);
      bump(`e|${r.user_id}`, d.events);
      bump(`h|${r.user_id}`, d.hits);
      for (const [bucket, n] of d.positions) bump(`p|${bucket}`, n);
    }
    const keys = [fenceKeyOf(p)];
    const args: (string | number)[] = [
      String(expected),
      Math.max(lastOffset, expected),
      TTL_SECONDS,
      states.length,
    ];
    for (const w of states) {
      keys.push(w.key);
      args.push(w.version, w.ttlSeconds, w.set.length / 2, w.del.length);
      for (const a of w.set) args.push(a);
      for (const a of w.del) args.push(a);
    }
    for (const [key, h] of hashes) {
      keys.push(h.days, key);
      args.push(h.day, h.fields.size);
      for (const [field, n] of h.fields) args.push(n, field);
    }
    // arrays, not spread: a large batch has more arguments than a call can take (ioredis flattens them)
    const reply = (await this.redis.commitExperiment(keys.length, keys, args)) as (number | string)[];
    if (Number(reply[0]) === 0) return { ok: true };
    if (Number(reply[0]) === 1) return { ok: false, fence: Number(reply[1]), moved: [] };
    return {
      ok: false,
      fence: expected,
      moved: reply.slice(1).map((i) => (states[Number(i)] as GuardedHashWrite).user_id),
    };
  }

  async results(experiment: string): Promise<Map<string, ArmResults>> {
    const days = await this.redis.smembers(daysKey(experiment));
    const out = new Map<string, ArmResults>();
    for (const arm of ['control', 'candidate']) {
      const res: ArmResults = { exposedUsers: 0, users: new Map(), positions: new Map() };
      if (days.length > 0) {
        const p = this.redis.pipeline();
        for (const day of days) p.hgetall(countsKey(experiment, arm, day));
        const hashes = (await p.exec()) ?? [];
        for (const [err, h] of hashes) {
          if (err) throw err;
          for (const [field, value] of Object.entries(h as Record<string, string>)) {
            const n = Number(value);
            if (n === 0) continue; // a bucket a moved hit left
            const [kind, rest] = [field.slice(0, 1), field.slice(2)];
            if (kind === 'p') res.positions.set(rest, (res.positions.get(rest) ?? 0) + n);
            else {
              const u = res.users.get(rest) ?? { events: 0, hits: 0 };
              res.users.set(rest, u);
              if (kind === 'e') u.events += n;
              else if (kind === 'h') u.hits += n;
            }
          }
        }
        const union = await this.redis.sunion(...days.map((d) => exposedKey(experiment, arm, d)));
        res.exposedUsers = union.length;
      }
      out.set(arm, res);
    }
    return out;
  }

  async drop(experiment: string): Promise<void> {
    const days = await this.redis.smembers(daysKey(experiment));
    const keys = days.flatMap((d) =>
      ['control', 'candidate'].flatMap((arm) => [
        countsKey(experiment, arm, d),
        exposedKey(experiment, arm, d),
      ]),
    );
    if (keys.length > 0) await this.redis.del(...keys);
    await this.redis.del(daysKey(experiment));
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    commitExperiment(numKeys: number, keys: string[], args: (string | number)[]): Promise<unknown>;
  }
}
