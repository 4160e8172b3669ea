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

/** Users per MGET: bounds one command's size. */
const CHUNK = 500;

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
    // one MGET per chunk, not a GET per user: the sequence processor asks this for every user of
    // every batch, and a command per user cost it more CPU than the rest of its work (bench
    // ingest against 1d3777a, docs/decisions.md). Like the sequence store's chunked script, this
    // is for one Redis primary (deployment.md: Redis Cluster needs keys tagged by partition).
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const chunk = userIds.slice(i, i + CHUNK);
      const values = await this.redis.mget(...chunk.map(answerKey));
      values.forEach((raw, j) => {
        const a = typeof raw === 'string' ? decodeAnswer(raw) : undefined;
        if (a) out.set(chunk[j] as string, a);
      });
    }
    return out;
  }
}
