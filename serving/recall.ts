import { ITEM_SCALARS } from '../batch/publish.js';
import type { ItemVectors } from '../clients/milvus/client.js';
import { buildFilter, type Condition } from '../clients/milvus/filter.js';
import type { Redis } from '../clients/redis.js';
import type { UserQuery } from '../model/version.js';
import type { HistoryStore } from '../stores/history/index.js';
import type { ProfileStore } from '../stores/profiles/index.js';
import { ALL_TIME_POPULARITY_KEY, userVectorKey } from '../stores/sequence/keys.js';
import type { RedisSequenceStore } from '../stores/sequence/redis.js';
import type { LiveModels } from './live-model.js';

export interface RecallRequest {
  userId: string;
  k: number;
  conditions: Condition[];
}

/** Which path produced the items. */
export type RecallSource = 'personal' | 'profile' | 'popular';

export interface RecallResponse {
  user_id: string;
  model_version: string | null;
  source: RecallSource;
  degraded: boolean;
  items: { item_id: string; score: number }[];
}

export interface RecallDeps {
  redis: Redis;
  sequence: RedisSequenceStore;
  history: HistoryStore;
  profiles: ProfileStore;
  milvus: ItemVectors;
  models: LiveModels;
  sequenceLength: number;
  userVectorTtlSeconds: number;
  /** Reports a dependency failure that was served around (metrics). */
  onDegraded?: (dependency: string, err: unknown) => void;
}

const MAX_SEARCH = 16_384;

/** The user's recent events: Redis, or HBase when Redis is down. */
async function recentHistory(d: RecallDeps, userId: string): Promise<{ itemId: string; ts: number }[]> {
  try {
    return (await d.sequence.recent(userId)).map((e) => ({ itemId: e.item_id, ts: e.ts / 1000 }));
  } catch (e) {
    d.onDegraded?.('redis', e);
    return (await d.history.latest(userId, d.sequenceLength)).map((e) => ({
      itemId: e.item_id,
      ts: e.ts / 1000,
    }));
  }
}

/** Cached vector of this user for this version, if any (`{version}\n{base64 float32}`). */
async function cachedVector(
  d: RecallDeps,
  userId: string,
  version: string,
): Promise<Float32Array | undefined> {
  const raw = await d.redis.get(userVectorKey(userId)).catch(() => null);
  if (!raw) return undefined;
  const nl = raw.indexOf('\n');
  if (raw.slice(0, nl) !== version) return undefined;
  const buf = Buffer.from(raw.slice(nl + 1), 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

async function popular(d: RecallDeps, k: number, exclude: Set<string>): Promise<RecallResponse['items']> {
  const flat = await d.redis
    .zrevrange(ALL_TIME_POPULARITY_KEY, 0, k + exclude.size - 1, 'WITHSCORES')
    .catch(() => []);
  const out: RecallResponse['items'] = [];
  for (let i = 0; i < flat.length && out.length < k; i += 2) {
    const id = flat[i] as string;
    if (!exclude.has(id)) out.push({ item_id: id, score: Number(flat[i + 1]) });
  }
  return out;
}

/**
 * Top-k items for a user: the user tower of the live version over the freshest features (recent
 * sequence, profile), cached per version; Milvus ANN on that version's collection with the
 * request's filters; items the user just consumed removed. No history and no profile: popular
 * items. Milvus down: popular items, `degraded`.
 */
export async function recall(d: RecallDeps, req: RecallRequest): Promise<RecallResponse> {
  const filter = req.conditions.length > 0 ? buildFilter(req.conditions, ITEM_SCALARS) : undefined;
  const [history, profile, live] = await Promise.all([
    recentHistory(d, req.userId),
    d.profiles.getUser(req.userId).catch((e) => {
      d.onDegraded?.('hbase', e);
      return undefined;
    }),
    d.models.current().catch((e) => {
      d.onDegraded?.('model', e);
      return undefined;
    }),
  ]);
  const seen = new Set(history.map((h) => h.itemId));
  const base = { user_id: req.userId, model_version: live?.pointer.version ?? null };
  const hasProfile = profile !== undefined && Object.keys(profile.profile).length > 0;
  if (!live || (history.length === 0 && !hasProfile))
    return {
      ...base,
      source: 'popular',
      degraded: !live && history.length > 0,
      items: await popular(d, req.k, seen),
    };

  const newest = history.at(-1);
  const stamp = `${live.pointer.version} ${newest ? `${newest.itemId}@${newest.ts}` : '-'}`;
  let vector = await cachedVector(d, req.userId, stamp);
  if (!vector) {
    const categorical: Record<string, string> = {};
    for (const [k, v] of Object.entries(profile?.profile ?? {}))
      categorical[k] = Array.isArray(v) ? v.join('|') : String(v);
    const query: UserQuery = { userId: req.userId, profile: categorical, history, ts: Date.now() / 1000 };
    vector = live.model.userVectors([query]);
    const payload = `${stamp}\n${Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')}`;
    await d.redis.set(userVectorKey(req.userId), payload, 'EX', d.userVectorTtlSeconds).catch(() => {});
  }
  try {
    const hits = await d.milvus.search(
      live.pointer.collection,
      Array.from(vector),
      Math.min(MAX_SEARCH, req.k + seen.size),
      {
        filter,
        consistency: 'Bounded',
      },
    );
    const items = hits
      .filter((h) => !seen.has(h.item_id))
      .slice(0, req.k)
      .map((h) => ({ item_id: h.item_id, score: h.score }));
    return { ...base, source: history.length > 0 ? 'personal' : 'profile', degraded: false, items };
  } catch (e) {
    d.onDegraded?.('milvus', e);
    return { ...base, source: 'popular', degraded: true, items: await popular(d, req.k, seen) };
  }
}
