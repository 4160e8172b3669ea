import type { Config } from '../../config/index.js';
import { createKafka } from './kafkajs.js';
import type { TopicSpec } from './topics.js';

export { projectTopics, TOPICS } from './topics.js';

/** Creates the topics that do not exist yet; returns their names. Existing topics are left alone. */
export async function ensureTopics(cfg: Config, specs: TopicSpec[]): Promise<string[]> {
  const admin = createKafka(cfg).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}
