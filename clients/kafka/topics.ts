import type { Config } from '../../config/index.js';

/** The project's topics by role; the base names are part of the data contract (DESIGN.md §2). */
export const TOPIC_BASE_NAMES = {
  behaviour: 'behaviour.events',
  dlq: 'behaviour.dlq',
  items: 'item.events',
  users: 'user.events',
  exposures: 'recall.exposures',
} as const;

export type TopicRole = keyof typeof TOPIC_BASE_NAMES;
export type TopicNames = Record<TopicRole, string>;

/** Topic names with the deployment's `KAFKA_TOPIC_PREFIX`. */
export function topicNames(cfg: Pick<Config, 'topicPrefix'>): TopicNames {
  const out = {} as TopicNames;
  for (const [role, base] of Object.entries(TOPIC_BASE_NAMES) as [TopicRole, string][])
    out[role] = `${cfg.topicPrefix}${base}`;
  return out;
}

/** The setting that holds each topic's partition count when the project creates it. */
export const PARTITION_SETTING = {
  behaviour: 'topicBehaviourPartitions',
  dlq: 'topicDlqPartitions',
  items: 'topicItemPartitions',
  users: 'topicUserPartitions',
  exposures: 'topicExposurePartitions',
} as const satisfies Record<TopicRole, keyof Config>;

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

export function projectTopics(cfg: Config): TopicSpec[] {
  const rf = cfg.topicReplication;
  const t = topicNames(cfg);
  return [
    { topic: t.behaviour, numPartitions: cfg[PARTITION_SETTING.behaviour], replicationFactor: rf },
    {
      topic: t.dlq,
      numPartitions: cfg[PARTITION_SETTING.dlq],
      replicationFactor: rf,
      // dead letters wait for an operator: keep them a month
      configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }],
    },
    { topic: t.items, numPartitions: cfg[PARTITION_SETTING.items], replicationFactor: rf },
    { topic: t.users, numPartitions: cfg[PARTITION_SETTING.users], replicationFactor: rf },
    {
      topic: t.exposures,
      numPartitions: cfg[PARTITION_SETTING.exposures],
      replicationFactor: rf,
      // experiments read a few days back at most; a week leaves room to rebuild results
      configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }],
    },
  ];
}
