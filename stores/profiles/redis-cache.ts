import type { Redis } from '../../clients/redis.js';
import type { ProfileCache, UserProfile } from './index.js';
import { profileKey } from './keys.js';

// Keeps the newer of what is stored and what is offered, by profile event time: a fill from an
// HBase read that raced a profile update (read old, the processor wrote and cached the new one,
// then the fill lands) cannot roll the copy back, and neither can a late write-through. "No
// profile" is stored with ts -1, so any real profile replaces it. On equal times a write-through
// wins (HBase keeps the last put of a tie, which the processor has just read back) and a fill
// does not. An entry whose time does not parse is replaced.
// KEYS: profile keys. ARGV: per key: ts, TTL seconds, mode (w: write-through, f: fill), value.
const PUT_SCRIPT = `
local put = 0
for i = 1, #KEYS do
  local a = 4 * (i - 1)
  local ts, ttl, mode, value = tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local cur = redis.call('GET', KEYS[i])
  local curTs = cur and tonumber(string.match(cur, '^(-?%d+)\t'))
  if not curTs or curTs < ts or (curTs == ts and mode == 'w') then
    redis.call('SET', KEYS[i], ARGV[a + 1] .. '\t' .. value, 'EX', ttl)
    put = put + 1
  end
end
return put
`;

/**
 * "No profile" lives at most this long: ids nobody has a profile for (cold users, or anyone
 * trying random ids) do not pile up for the full TTL, and a profile that reaches HBase without
 * the items processor (a bulk load) is seen within the hour.
 */
const NONE_TTL_SECONDS = 3600;

/** Profiles per script call: bounds how long one call holds Redis. */
const CHUNK = 500;

/**
 * User profiles for online features, in Redis (DESIGN.md §2: "HBase/Redis profile"). HBase stays
 * the store of record; this copy takes an HBase round trip off every recall request, which was
 * the largest CPU cost per request (docs/decisions.md, Recall API). A miss reads HBase and fills.
 */
export class RedisProfileCache implements ProfileCache {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {
    redis.defineCommand('putProfiles', { lua: PUT_SCRIPT });
  }

  /** An unreadable entry is a miss, which the next fill replaces. */
  async get(userId: string): Promise<UserProfile | null | undefined> {
    const raw = await this.redis.get(profileKey(userId));
    if (raw === null) return undefined;
    const json = raw.slice(raw.indexOf('\t') + 1);
    if (json === '') return null;
    try {
      return JSON.parse(json) as UserProfile;
    } catch {
      return undefined;
    }
  }

  async fill(userId: string, profile: UserProfile | undefined): Promise<void> {
    await this.put([
      profile
        ? [profileKey(userId), profile.ts, this.ttlSeconds, 'f', JSON.stringify(profile)]
        : [profileKey(userId), -1, Math.min(this.ttlSeconds, NONE_TTL_SECONDS), 'f', ''],
    ]);
  }

  async putMany(profiles: UserProfile[]): Promise<void> {
    await this.put(
      profiles.map((p) => [profileKey(p.user_id), p.ts, this.ttlSeconds, 'w', JSON.stringify(p)]),
    );
  }

  private async put(
    entries: [key: string, ts: number, ttl: number, mode: 'w' | 'f', value: string][],
  ): Promise<void> {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK);
      const args: (string | number)[] = [];
      for (const [, ts, ttl, mode, value] of chunk) args.push(ts, ttl, mode, value);
      await this.redis.putProfiles(chunk.length, ...chunk.map((e) => e[0]), ...args);
    }
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    putProfiles(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  }
}
