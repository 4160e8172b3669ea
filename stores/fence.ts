import { redisKey } from '../clients/keys.js';

/** The consumer group's partition whose fence a store moves with the data it writes. */
export interface FencedPartition {
  group: string;
  topic: string;
  partition: number;
}

/**
 * The last Kafka offset a consumer group applied to Redis for one partition, written in the
 * same atomic script as the data it covers (so a crash cannot separate the two).
 */
export const fenceKey = (group: string, topic: string, partition: number): string =>
  redisKey('fence', group, topic, String(partition));

export const fenceKeyOf = (p: FencedPartition): string => fenceKey(p.group, p.topic, p.partition);
