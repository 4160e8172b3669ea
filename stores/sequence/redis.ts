import type { Redis } from '../../clients/redis.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import {
  parseSequenceMember,
  type SequenceEntry,
  sequenceKey,
  sequenceMember,
  userVectorKey,
} from './keys.js';

export interface SequenceSettings {
  /** Events kept per user. */
  length: number;
  ttlSeconds: number;
}

// One atomic script per chunk of events: add each event to its user's ZSET, then trim every
// touched user to the latest N, renew the TTL and drop the cached user vector. The result is the
// top N (by ts, then event id) of the set of events ever applied, so applying an event again
// (crash re-delivery or a producer's duplicate) changes nothing: no fence needed.
// KEYS: per event: seq, uvec. ARGV: N, TTL, then per event: ts, member.
const APPLY_SCRIPT = `
local n = tonumber(ARGV[1])
local touched = {}
for i = 1, #KEYS, 2 do
  local a = 3 + (i - 1)
  redis.call('ZADD', KEYS[i], ARGV[a], ARGV[a + 1])
  touched[KEYS[i]] = KEYS[i + 1]
end
for seq, uvec in pairs(touched) do
  redis.call('ZREMRANGEBYRANK', seq, 0, -(n + 1))
  redis.call('EXPIRE', seq, ARGV[2])
  redis.call('DEL', uvec)
end
return #KEYS / 2
`;

/** Events per script call: bounds how long one call holds Redis' single thread. */
const CHUNK = 500;

/** Each user's latest events in Redis (DESIGN.md §4), for online features. */
export class RedisSequenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: SequenceSettings,
  ) {
    redis.defineCommand('applySequence', { lua: APPLY_SCRIPT });
  }

  async apply(events: BehaviourEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += CHUNK) {
      const keys: string[] = [];
      const args: (string | number)[] = [this.settings.length, this.settings.ttlSeconds];
      for (const e of events.slice(i, i + CHUNK)) {
        keys.push(sequenceKey(e.user_id), userVectorKey(e.user_id));
        args.push(e.ts, sequenceMember(e));
      }
      await this.redis.applySequence(keys.length, ...keys, ...args);
    }
  }

  /** The user's recent events, oldest first. */
  async recent(userId: string): Promise<SequenceEntry[]> {
    const flat = await this.redis.zrange(sequenceKey(userId), 0, -1, 'WITHSCORES');
    const out: SequenceEntry[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push(parseSequenceMember(flat[i] as string, Number(flat[i + 1])));
    return out;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    applySequence(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
