import type { IngestClient } from '../../replay/client.js';
import type { RecallEndpoint } from '../../serving/evaluate-api.js';
import type { HistoryStore } from '../../stores/history/index.js';
import type { ProfileStore } from '../../stores/profiles/index.js';
import type { RedisSequenceStore } from '../../stores/sequence/redis.js';
import { checkFailed } from './check.js';

export interface FreshnessReport {
  user: string;
  /** 202 → the event is in HBase and the Redis sequence. */
  storedMs: number;
  /** 202 → the recall answer changed. */
  changedMs: number;
  before: string[];
}

/**
 * The user consumes their top recommendation: time from the 202 until HBase and Redis hold the
 * event, and until the recall answer changes (the item leaves it, the user vector moves).
 */
export async function probeFreshness(
  recall: RecallEndpoint,
  client: IngestClient,
  stores: { history: HistoryStore; sequence: RedisSequenceStore; profiles: ProfileStore },
  user: string,
  fallbackItem: string,
  say: (line: string) => void,
): Promise<FreshnessReport> {
  const url = `${recall.url}/v1/recall?user_id=${encodeURIComponent(user)}&k=10`;
  const headers = { authorization: `Bearer ${recall.key}` };
  const ask = async () =>
    ((await (await fetch(url, { headers })).json()) as { items: { item_id: string }[] }).items.map(
      (i) => i.item_id,
    );
  const before = await ask();
  const titles = await Promise.all(
    before.slice(0, 3).map(async (id) => (await stores.profiles.getItem(id))?.features.title ?? id),
  );
  say(`  GET ${url} → ${titles.join('; ')}, …`);
  const e = {
    event_id: `demo-probe-${Date.now()}`,
    user_id: user,
    item_id: before[0] ?? fallbackItem,
    type: 'click',
    ts: Date.now(),
  };
  await client.post('/v1/events', [e]);
  const accepted = performance.now();
  const since = () => performance.now() - accepted;
  let storedMs: number | undefined;
  let changedMs: number | undefined;
  while (storedMs === undefined || changedMs === undefined) {
    if (storedMs === undefined) {
      const inRedis = (await stores.sequence.recent(user)).some((x) => x.event_id === e.event_id);
      if (inRedis && (await stores.history.exists([e]))[0] === true) storedMs = since();
    }
    if (changedMs === undefined && (await ask()).join() !== before.join()) changedMs = since();
    if (since() > 30_000) throw checkFailed('the probe event changed nothing after 30 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  return { user, storedMs, changedMs, before };
}
