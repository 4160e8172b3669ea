import type { Redis } from '../../clients/redis.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import {
  fenceKey,
  parseSequenceMember,
  popularityKeys,
  type SequenceEntry,
  sequenceKey,
  sequenceMember,
  userVectorKey,
} from './keys.js';

export interface SequenceSettings {
  /** Events kept per user. */
  length: number;
  ttlSeconds: number;
  hourTtlSeconds?: number;
  dayTtlSeconds?: number;
}

/** One behaviour event with the Kafka offset it came from. */
export interface OffsetEvent {
  offset: number;
  event: BehaviourEvent;
}

export interface ApplyResult {
  /** Events added to a sequence and counted. */
  applied: number;
  /** Events already applied: at or below the partition's fence, or already in the user's sequence. */
  duplicates: number;
}

// One atomic script per chunk of a partition's batch:
//  - the fence (last applied offset of this group/topic/partition) skips records a crash
//    re-delivers, counters included;
//  - ZADD NX skips an event the producer sent twice (same event id at another offset) while it
//    is still among the user's latest events; only a newly added event bumps the counters;
//  - each touched user's sequence is trimmed to N, its TTL renewed and its cached vector dropped.
// KEYS: fence, then per event: seq, uvec, hour, day; last: all-time popularity.
// ARGV: new fence, N, seq TTL, hour TTL, day TTL, then per event: offset, ts, member, item.
const APPLY_SCRIPT = `
local fence = tonumber(redis.call('GET', KEYS[1]) or '-1')
local n = tonumber(ARGV[2])
local all = KEYS[#KEYS]
local applied, dup = 0, 0
local touched = {}
local count = (#ARGV - 5) / 4
for i = 0, count - 1 do
  local k, a = 2 + 4 * i, 6 + 4 * i
  if tonumber(ARGV[a]) > fence then
    if redis.call('ZADD', KEYS[k], 'NX', ARGV[a + 1], ARGV[a + 2]) == 1 then
      local item = ARGV[a + 3]
      redis.call('ZINCRBY', KEYS[k + 2], 1, item)
      redis.call('EXPIRE', KEYS[k + 2], ARGV[4])
      redis.call('ZINCRBY', KEYS[k + 3], 1, item)
      redis.call('EXPIRE', KEYS[k + 3], ARGV[5])
      redis.call('ZINCRBY', all, 1, item)
      applied = applied + 1
    else
      dup = dup + 1
    end
    touched[KEYS[k]] = KEYS[k + 1]
  else
    dup = dup + 1
  end
end
for seq, uvec in pairs(touched) do
  redis.call('ZREMRANGEBYRANK', seq, 0, -(n + 1))
  redis.call('EXPIRE', seq, ARGV[3])
  redis.call('DEL', uvec)
end
if tonumber(ARGV[1]) > fence then redis.call('SET', KEYS[1], ARGV[1]) end
return {applied, dup}
`;

/** Events per script call: bounds how long one call holds Redis' single thread. */
const CHUNK = 256;

export class RedisSequenceStore {
  private readonly s: Required<SequenceSettings>;

  constructor(
    private readonly redis: Redis,
    settings: SequenceSettings,
  ) {
    this.s = { hourTtlSeconds: 48 * 3600, dayTtlSeconds: 35 * 24 * 3600, ...settings };
    if (!redis.applySequence) redis.defineCommand('applySequence', { lua: APPLY_SCRIPT });
  }

  /**
   * Applies one partition's events (ascending offsets) and moves the partition's fence to
   * `lastOffset` (which may be past the last event: records sent to the DLQ count as handled).
   */
  async apply(
    fence: { group: string; topic: string; partition: number },
    events: OffsetEvent[],
    lastOffset: number,
  ): Promise<ApplyResult> {
    const fk = fenceKey(fence.group, fence.topic, fence.partition);
    const total: ApplyResult = { applied: 0, duplicates: 0 };
    if (events.length === 0) {
      await this.redis.applySequence(1, fk, lastOffset, this.s.length, 1, 1, 1);
      return total;
    }
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      const keys: string[] = [fk];
      const args: (string | number)[] = [
        i + CHUNK >= events.length ? lastOffset : (chunk[chunk.length - 1] as OffsetEvent).offset,
        this.s.length,
        this.s.ttlSeconds,
        this.s.hourTtlSeconds,
        this.s.dayTtlSeconds,
      ];
      let all = '';
      for (const { offset, event: e } of chunk) {
        const pop = popularityKeys(e.ts);
        all = pop.all;
        keys.push(sequenceKey(e.user_id), userVectorKey(e.user_id), pop.hour, pop.day);
        args.push(offset, e.ts, sequenceMember(e), e.item_id);
      }
      keys.push(all);
      const [applied, duplicates] = (await this.redis.applySequence(keys.length, ...keys, ...args)) as [
        number,
        number,
      ];
      total.applied += applied;
      total.duplicates += duplicates;
    }
    return total;
  }

  /** The user's recent events, oldest first. */
  async recent(userId: string): Promise<SequenceEntry[]> {
    const flat = await this.redis.zrange(sequenceKey(userId), 0, -1, 'WITHSCORES');
    const out: SequenceEntry[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push(parseSequenceMember(flat[i] as string, Number(flat[i + 1])));
    return out;
  }

  /** Most popular items of a popularity key (see keys.ts), with counts. */
  async popular(key: string, k: number): Promise<{ item_id: string; count: number }[]> {
    const flat = await this.redis.zrevrange(key, 0, k - 1, 'WITHSCORES');
    const out: { item_id: string; count: number }[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push({ item_id: flat[i] as string, count: Number(flat[i + 1]) });
    return out;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    applySequence(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
