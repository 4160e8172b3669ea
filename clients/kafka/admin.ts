import type { Admin } from 'kafkajs';
import type { Config } from '../../config/index.js';
import { createKafka } from './kafkajs.js';
import type { TopicSpec } from './topics.js';

export { projectTopics, topicNames } from './topics.js';

/**
 * Creates the topics that do not exist yet; returns their names. Existing topics are left alone,
 * and a topic another process created meanwhile counts as existing.
 */
export async function ensureTopics(cfg: Config, specs: TopicSpec[]): Promise<string[]> {
  const admin = createKafka(cfg).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return [];
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (e) {
      const now = new Set(await admin.listTopics());
      if (!missing.every((s) => now.has(s.topic))) throw e;
    }
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}

/** Per-partition lag of a consumer group: end offset minus committed offset (from the start when none). */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  const out = new Map<number, number>();
  for (const end of ends) {
    const c = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    out.set(end.partition, Math.max(0, Number(end.high) - (c >= 0 ? c : Number(end.low))));
  }
  return out;
}
