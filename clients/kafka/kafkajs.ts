import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { type KafkaSettings, kafkajsAuth } from './auth.js';

// kafkajs 2.x prints a partitioner notice on every producer; the project's producers use rdkafka
// with murmur2 (the Java-compatible partitioner), kafkajs producers (tests, tools) the same.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/**
 * kafkajs serves the admin client and the stream processors' consumer groups (pure JS,
 * eachBatch + explicit commitOffsets: 250k-320k msg/s with a commit per batch in
 * bench/kafka.ts, 2.5× node-rdkafka's consumer with commitSync).
 */
export function createKafka(cfg: KafkaSettings, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: cfg.kafkaClientId,
    brokers: cfg.kafkaBrokers,
    ...kafkajsAuth(cfg),
    logLevel: logLevel.ERROR,
    connectionTimeout: 3000,
    ...overrides,
  });
}
