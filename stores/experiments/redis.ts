import type { Redis } from '../../clients/redis.js';
import { fenceKey } from '../fence.js';
import { type ArmResults, type Attribution, type ExperimentResultStore, positionBucket } from './index.js';
import { countsKey, dayOf, daysKey, exposedKey } from './keys.js';

// Applies one batch's increments and moves the partition's fence in one script, only if the
// fence still holds what the caller filtered against (compare-and-set; -1 otherwise): a batch
// re-delivered after a crash finds its offsets at or below the fence and counts nothing twice.
// KEYS: fence, then per count hash: its experiment's days index, the hash. ARGV: expected fence,
// new fence, TTL, then per hash: day, m, then m pairs (increment, field).
const ATTRIBUTE = `
local fence = redis.call('GET', KEYS[1]) or '-1'
if fence ~= ARGV[1] then return -1 end
local ttl = tonumber(ARGV[3])
local a = 4
for k = 2, #KEYS, 2 do
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
return 0
`;

/** Results are kept this long after their last write: longer than any experiment runs. */
const TTL_SECONDS = 90 * 86_400;

/**
 * Experiment results in Redis. The days index is per experiment, so the count keys of one
 * experiment's batch need not share a Redis Cluster slot with another experiment's.
 */
export class RedisExperimentResultStore implements ExperimentResultStore {
  constructor(private readonly redis: Redis) {
    redis.defineCommand('attributeExperiment', { lua: ATTRIBUTE });
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

  async attribute(
    fence: { group: string; topic: string; partition: number },
    rows: Attribution[],
    lastOffset: number,
  ): Promise<Attribution[]> {
    const fk = fenceKey(fence.group, fence.topic, fence.partition);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = (await this.redis.get(fk)) ?? '-1';
      const fresh = rows.filter((r) => r.offset > Number(current));
      const hashes = new Map<string, { days: string; day: string; fields: Map<string, number> }>();
      for (const r of fresh) {
        const day = dayOf(r.ts);
        const key = countsKey(r.experiment, r.arm, day);
        const h = hashes.get(key) ?? { days: daysKey(r.experiment), day, fields: new Map<string, number>() };
        hashes.set(key, h);
        const bump = (field: string) => h.fields.set(field, (h.fields.get(field) ?? 0) + 1);
        bump(`e|${r.user_id}`);
        if (r.position > 0) {
          bump(`h|${r.user_id}`);
          bump(`p|${positionBucket(r.position)}`);
        }
      }
      const keys = [fk];
      const args: (string | number)[] = [current, Math.max(lastOffset, Number(current)), TTL_SECONDS];
      for (const [key, h] of hashes) {
        keys.push(h.days, key);
        args.push(h.day, h.fields.size);
        for (const [field, n] of h.fields) args.push(n, field);
      }
      const r = Number(await this.redis.attributeExperiment(keys.length, ...keys, ...args));
      if (r === 0) return fresh;
    }
    throw new Error(`experiment fence ${fk} kept changing: is another consumer writing this partition?`);
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
    attributeExperiment(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
