import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { Config } from '../../config/index.js';

/** What a Kafka client of the project needs to reach and authenticate to the brokers. */
export type KafkaSettings = Pick<
  Config,
  | 'kafkaBrokers'
  | 'kafkaClientId'
  | 'kafkaSaslMechanism'
  | 'kafkaSaslUsername'
  | 'kafkaSaslPassword'
  | 'kafkaSsl'
>;

/** kafkajs's `ssl` and `sasl` options of the settings. */
export function kafkajsAuth(cfg: KafkaSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const ssl = cfg.kafkaSsl === 'on';
  if (cfg.kafkaSaslMechanism === 'none') return ssl ? { ssl } : {};
  const sasl = {
    mechanism: cfg.kafkaSaslMechanism,
    username: cfg.kafkaSaslUsername,
    password: cfg.kafkaSaslPassword,
  } as SASLOptions;
  return ssl ? { ssl, sasl } : { sasl };
}

/** librdkafka's security properties of the settings (the same broker listener as kafkajs). */
export function rdkafkaAuth(cfg: KafkaSettings): Record<string, string> {
  const ssl = cfg.kafkaSsl === 'on';
  if (cfg.kafkaSaslMechanism === 'none') return ssl ? { 'security.protocol': 'ssl' } : {};
  return {
    'security.protocol': ssl ? 'sasl_ssl' : 'sasl_plaintext',
    'sasl.mechanisms': cfg.kafkaSaslMechanism.toUpperCase(),
    'sasl.username': cfg.kafkaSaslUsername,
    'sasl.password': cfg.kafkaSaslPassword,
  };
}
