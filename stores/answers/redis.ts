import { redisKey } from '../../clients/keys.js';
import type { Redis } from '../../clients/redis.js';
import { seenHash } from '../seen/keys.js';
import type { AnswerStore, RecordedAnswer } from './index.js';

/** STRING `{ts}\t{version}\t{source}\t{hash},{hash},…` with the window as its TTL. */
export const answerKey = (userId: string): string => redisKey('ans', userId);

const VERSION = /^[A-Za-z0-9_.-]{0,64}$/;
const SOURCE = /^[a-z]{1,16}$/;

export function encodeAnswer(a: RecordedAnswer): string {
  if (!VERSION.test(a.version) || !SOURCE.test(a.source))
    throw new Error(
      `bad answer label: version ${JSON.stringify(a.version)}, source ${JSON.stringify(a.source)}`,
    );
  return `${Math.round(a.ts)}\t${a.version}\t${a.source}\t${a.items.join(',')}`;
}

/** The stored form back; undefined when it is not one (a foreign value is never trusted). */
export function decodeAnswer(raw: string): RecordedAnswer | undefined {
  const [ts, version, source, items, extra] = raw.split('\t');
  if (
    extra !== undefined ||
    ts === undefined ||
    version === undefined ||
    source === undefined ||
    items === undefined
  )
    return undefined;
  const t = Number(ts);
  if (!Number.isFinite(t) || !VERSION.test(version) || !SOURCE.test(source)) return undefined;
  const hashes = items === '' ? [] : items.split(',').map(Number);
  if (!hashes.every(Number.isInteger)) return undefined;
  return { ts: t, version, source, items: hashes };
}

export class RedisAnswerStore implements AnswerStore {
  constructor(
    private readonly redis: Redis,
    private readonly settings: { windowSeconds: number; items: number },
  ) {}

  async record(
    userId: string,
    a: { ts: number; version: string; source: string; itemIds: string[] },
  ): Promise<void> {
    const raw = encodeAnswer({
      ts: a.ts,
      version: a.version,
      source: a.source,
      items: a.itemIds.slice(0, this.settings.items).map(seenHash),
    });
    await this.redis.set(answerKey(userId), raw, 'EX', this.settings.windowSeconds);
  }

  async lastOf(userIds: readonly string[]): Promise<Map<string, RecordedAnswer>> {
    const out = new Map<string, RecordedAnswer>();
    if (userIds.length === 0) return out;
    // one GET per key in a pipeline, not MGET: the keys may live in different Redis Cluster slots
    const p = this.redis.pipeline();
    for (const u of userIds) p.get(answerKey(u));
    const results = (await p.exec()) ?? [];
    results.forEach(([err, raw], i) => {
      if (err) throw err;
      const a = typeof raw === 'string' ? decodeAnswer(raw) : undefined;
      if (a) out.set(userIds[i] as string, a);
    });
    return out;
  }
}
