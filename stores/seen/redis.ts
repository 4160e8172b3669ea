import type { Redis } from '../../clients/redis.js';
import type { SeenEvent, SeenSettings, SeenStore } from './index.js';
import { seenHash, seenKey } from './keys.js';

/** Users per script call: bounds how long one call holds Redis' single thread. */
const CHUNK = 500;

// One script per chunk of users: SADD each user's hashes (in slices, under Lua's unpack limit)
// and renew the TTL. A pipeline of two commands per user cost the sequence processor more CPU
// than the rest of its work (docs/decisions.md, "CPU per event against 1d3777a").
// KEYS: per user, the seen set. ARGV: TTL, then per user: m, then m hashes.
const ADD_SCRIPT = `
local ttl = tonumber(ARGV[1])
local a = 2
for i = 1, #KEYS do
  local m = tonumber(ARGV[a])
  for s = a + 1, a + m, 1000 do
    redis.call('SADD', KEYS[i], unpack(ARGV, s, math.min(s + 999, a + m)))
  end
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  a = a + 1 + m
end
return #KEYS
`;

/** The seen sets in Redis: SADD is idempotent, so no fence is needed for exactly-once effects. */
export class RedisSeenStore implements SeenStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: SeenSettings,
  ) {
    redis.defineCommand('addSeen', { lua: ADD_SCRIPT });
  }

  private hashesByUser(events: readonly SeenEvent[]): Map<string, Set<number>> {
    const byUser = new Map<string, Set<number>>();
    for (const e of events) {
      if (this.settings.ignoredTypes.has(e.type)) continue;
      const set = byUser.get(e.user_id);
      if (set) set.add(seenHash(e.item_id));
      else byUser.set(e.user_id, new Set([seenHash(e.item_id)]));
    }
    return byUser;
  }

  async add(events: readonly SeenEvent[]): Promise<void> {
    const users = [...this.hashesByUser(events)];
    for (let i = 0; i < users.length; i += CHUNK) {
      const keys: string[] = [];
      const args: (string | number)[] = [this.settings.ttlSeconds];
      for (const [user, hashes] of users.slice(i, i + CHUNK)) {
        keys.push(seenKey(user));
        args.push(hashes.size, ...hashes);
      }
      await this.redis.addSeen(keys.length, ...keys, ...args);
    }
  }

  async get(userId: string): Promise<Set<number>> {
    const members = await this.redis.smembers(seenKey(userId));
    return new Set(members.map(Number));
  }

  async replace(userId: string, events: readonly SeenEvent[]): Promise<void> {
    const key = seenKey(userId);
    const hashes = [...(this.hashesByUser(events).get(userId) ?? [])];
    const tx = this.redis.multi().del(key);
    for (let i = 0; i < hashes.length; i += 10_000) tx.sadd(key, ...hashes.slice(i, i + 10_000).map(String));
    if (hashes.length > 0 && this.settings.ttlSeconds > 0) tx.expire(key, this.settings.ttlSeconds);
    const results = (await tx.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    addSeen(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
