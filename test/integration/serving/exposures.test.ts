import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConsumedRecord, startBatchConsumer } from '../../../clients/kafka/consumer.js';
import { loadConfig } from '../../../config/index.js';
import { createLogger } from '../../../runtime/logger.js';
import type { Exposure } from '../../../schemas/exposure.js';
import { exposureContract } from '../../../schemas/index.js';
import { ExposureLog } from '../../../serving/exposures.js';

// The recall API's exposure log on the real broker: every recorded answer arrives once on
// recall.exposures, keyed by user and valid under its contract; without Kafka it drops and counts.
const run = randomUUID().slice(0, 8);
const cfg = loadConfig({ ...process.env, KAFKA_TOPIC_PREFIX: `test-exp-${run}.`, LOG_LEVEL: 'silent' });
const log = createLogger(cfg, 'test');

const exposure = (i: number): Exposure => ({
  request_id: `r-${run}-${i}`,
  user_id: `u${i % 7}`,
  experiment: i % 2 === 0 ? 'exp-a' : null,
  arm: i % 2 === 0 ? (i % 4 === 0 ? 'candidate' : 'control') : null,
  model_version: 'v20240131-030405',
  source: 'personal',
  items: [`i${i}`, `i${i + 1}`],
  ts: 1_706_745_600_000 + i,
});

const counted = async (registry: Registry, outcome: string): Promise<number> =>
  ((await registry.getSingleMetric('towerflow_recall_exposures_total')?.get())?.values ?? []).find(
    (v) => v.labels.outcome === outcome,
  )?.value ?? 0;

describe('exposure log (real Kafka)', () => {
  const logs: ExposureLog[] = [];
  afterAll(async () => {
    for (const l of logs) await l.close();
  });

  it('writes every answer once to recall.exposures, keyed by user and valid under the contract', async () => {
    const registry = new Registry();
    const exposures = new ExposureLog(cfg, log);
    logs.push(exposures);
    exposures.registerMetrics(registry);
    await exposures.start();
    const sent = Array.from({ length: 60 }, (_, i) => exposure(i));
    for (const e of sent) exposures.record(e);
    await expect.poll(() => counted(registry, 'sent'), { timeout: 30_000 }).toBe(60);

    const got: ConsumedRecord[] = [];
    const consumer = await startBatchConsumer(cfg, {
      groupId: `test-exposures-${run}`,
      topics: [`test-exp-${run}.recall.exposures`],
      handle: async (records) => {
        got.push(...records);
      },
    });
    try {
      await expect.poll(() => got.length, { timeout: 30_000 }).toBe(60);
    } finally {
      await consumer.stop();
    }
    const decoded = got.map((r) => {
      const v = exposureContract.validate(JSON.parse(r.value?.toString('utf8') ?? ''));
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      expect(r.key).toBe(v.value.user_id);
      return v.value;
    });
    expect(decoded.map((e) => e.request_id).sort()).toEqual(sent.map((e) => e.request_id).sort());
    expect(await counted(registry, 'dropped')).toBe(0);
  });

  it('drops and counts, never waits, while Kafka is not reachable', async () => {
    const registry = new Registry();
    const offline = new ExposureLog(
      loadConfig({ ...process.env, KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'silent' }),
      log,
    );
    logs.push(offline);
    offline.registerMetrics(registry);
    void offline.start();
    for (let i = 0; i < 100; i++) offline.record(exposure(i));
    // counted synchronously: record() returned without waiting for anything
    expect(await counted(registry, 'dropped')).toBe(100);
    expect(await counted(registry, 'sent')).toBe(0);
  });
});
