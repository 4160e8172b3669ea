import type { Config } from '../config/index.js';
import { generatedKeyFile, resolveAllKeys } from '../runtime/api-keys.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { onShutdown } from '../runtime/shutdown.js';
import { announceTarget } from '../runtime/targets.js';
import { buildIngestApp } from './app.js';
import { KafkaGate } from './kafka-gate.js';

/** `towerflow ingest`: serves the ingest API until SIGTERM, then drains in-flight requests. */
export async function runIngest(cfg: Config): Promise<void> {
  const log = createLogger(cfg, 'ingest');
  const apiKeys = resolveAllKeys(cfg);
  const kafka = new KafkaGate(cfg, log);
  void kafka.start();
  const app = buildIngestApp({ cfg, log, kafka, apiKeys, registry: createRegistry('ingest') });
  await app.listen({ host: cfg.bindHost, port: cfg.ingestPort });
  const withdraw = announceTarget(cfg, 'ingest', `${cfg.bindHost}:${cfg.ingestPort}`);
  log.info(
    {
      url: `http://${cfg.bindHost}:${cfg.ingestPort}`,
      keys: cfg.ingestApiKeys.length > 0 ? 'INGEST_API_KEYS' : generatedKeyFile(cfg, 'ingest'),
    },
    'ingest API listening',
  );
  onShutdown(log, async () => {
    await app.close(); // stops accepting, waits for in-flight requests (and their Kafka acks)
    await kafka.close();
    withdraw();
  });
}
