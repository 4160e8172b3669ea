import type { Config } from '../../config/index.js';

/** The project's topics; names are part of the data contract (DESIGN.md §2). */
export const TOPICS = {
  behaviour: 'behaviour.events',
  dlq: 'behaviour.dlq',
  items: 'item.events',
} as const;

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

export function projectTopics(cfg: Config): TopicSpec[] {
  const rf = cfg.topicReplication;
  return [
    { topic: TOPICS.behaviour, numPartitions: cfg.topicBehaviourPartitions, replicationFactor: rf },
    {
      topic: TOPICS.dlq,
      numPartitions: cfg.topicDlqPartitions,
      replicationFactor: rf,
      // dead letters wait for an operator: keep them a month
      configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }],
    },
    { topic: TOPICS.items, numPartitions: cfg.topicItemPartitions, replicationFactor: rf },
  ];
}
