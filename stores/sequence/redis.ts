import type { Redis } from '../../clients/redis.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
// the cached user vector is dropped in the same script that changes the sequence it was built from
import { userVectorKey } from '../embeddings/keys.js';
import { latestN } from '../order.js';
import type { SequenceEntry, SequenceSettings, SequenceStore } from './index.js';
import { parseSequenceMember, sequenceKey, sequenceMember } from './keys.js';

// One atomic script per chunk of events, grouped by user: ZADD the user's events, trim to the
// latest N, renew the TTL, drop the cached user vector. The result is the top N (by ts, then
// event id) of the set of events ever applied, so applying an event again (crash re-delivery
// or a producer's duplicate) changes nothing: no fence needed.
// KEYS: per user: seq, uvec. ARGV: N, TTL, then per user: m, then m pairs (ts, member).
const APPLY_SCRIPT = `
local n = tonumber(ARGV[1])
local a = 3
for i = 1, #KEYS, 2 do
  local m = tonumber(ARGV[a])
  redis.call('ZADD', KEYS[i], unpack(ARGV, a + 1, a + 2 * m))
  a = a + 1 + 2 * m
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(n + 1))
  redis.call('EXPIRE', KEYS[i], ARGV[2])
  redis.call('DEL', KEYS[i + 1])
end
return #KEYS / 2
`;

/** Users per script call: bounds how long one call holds Redis' single thread. */
const CHUNK = 500;

/** Each user's latest events as a Redis ZSET (score ts, member: keys.ts). */
export class RedisSequenceStore implements SequenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: SequenceSettings,
  ) {
    redis.defineCommand('applySequence', { lua: APPLY_SCRIPT });
  }

  async apply(events: BehaviourEvent[]): Promise<void> {
    // Each user's events by ZSET member, the last copy winning as ZADD's would. A producer's
    // retry puts an event in the log again and a consumer behind the log reads the copies in one
    // batch: counted apart, they took several of the N places sent below, and the distinct events
    // they pushed out never reached Redis (the kafka drill's missing events, docs/decisions.md).
    const byUser = new Map<string, Map<string, BehaviourEvent>>();
    for (const e of events) {
      const members = byUser.get(e.user_id);
      if (members) members.set(sequenceMember(e), e);
      else byUser.set(e.user_id, new Map([[sequenceMember(e), e]]));
    }
    const users = [...byUser];
    for (let i = 0; i < users.length; i += CHUNK) {
      const keys: string[] = [];
      const args: (string | number)[] = [this.settings.length, this.settings.ttlSeconds];
      for (const [user, members] of users.slice(i, i + CHUNK)) {
        keys.push(sequenceKey(user), userVectorKey(user));
        // only the latest N distinct events can survive the trim: send no more
        const list = [...members.values()];
        const kept = list.length > this.settings.length ? latestN(list, this.settings.length) : list;
        args.push(kept.length);
        for (const e of kept) args.push(e.ts, sequenceMember(e));
      }
      await this.redis.applySequence(keys.length, ...keys, ...args);
    }
  }

  async recent(userId: string): Promise<SequenceEntry[]> {
    const flat = await this.redis.zrange(sequenceKey(userId), 0, -1, 'WITHSCORES');
    const out: SequenceEntry[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push(parseSequenceMember(flat[i] as string, Number(flat[i + 1])));
    return out;
  }

  async holds(userId: string, entry: SequenceEntry): Promise<boolean> {
    return (await this.redis.zscore(sequenceKey(userId), sequenceMember(entry))) !== null;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    applySequence(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
