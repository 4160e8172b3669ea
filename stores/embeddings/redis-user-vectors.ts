import { type Redis, unlinkMatching } from '../../clients/redis.js';
import type { TaggedVector, UserVectorCache } from './index.js';
import { USER_VECTOR_PATTERN, userVectorKey } from './keys.js';
import { decodeTagged, encodeTagged } from './tagged-vector.js';

/** Cached user vectors in Redis: `{tag}\n{base64 float32}` under userVectorKey, with a TTL. */
export class RedisUserVectorCache implements UserVectorCache {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  async get(userId: string): Promise<TaggedVector | undefined> {
    const raw = await this.redis.get(userVectorKey(userId));
    return raw ? decodeTagged(raw) : undefined;
  }

  async set(userId: string, tag: string, vector: Float32Array): Promise<void> {
    await this.redis.set(userVectorKey(userId), encodeTagged(tag, vector), 'EX', this.ttlSeconds);
  }

  async drop(userIds: Iterable<string>): Promise<void> {
    const keys = [...new Set(userIds)].map(userVectorKey);
    if (keys.length > 0) await this.redis.del(...keys);
  }

  dropAll(): Promise<number> {
    return unlinkMatching(this.redis, USER_VECTOR_PATTERN);
  }
}
