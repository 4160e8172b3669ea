import type { Redis } from '../../clients/redis.js';
import type { SeenEvent, SeenSettings, SeenStore } from './index.js';
import { seenHash, seenKey } from './keys.js';

/** Users per pipeline: bounds one round trip's size. */
const CHUNK = 500;

/** The seen sets in Redis: SADD is idempotent, so no fence is needed for exactly-once effects. */
export class RedisSeenStore implements SeenStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: SeenSettings,
  ) {}

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
      const p = this.redis.pipeline();
      for (const [user, hashes] of users.slice(i, i + CHUNK)) {
        const key = seenKey(user);
        p.sadd(key, ...[...hashes].map(String));
        if (this.settings.ttlSeconds > 0) p.expire(key, this.settings.ttlSeconds);
      }
      const results = (await p.exec()) ?? [];
      for (const [err] of results) if (err) throw err;
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
