import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollection } from '../../../batch/publish.js';
import { HBaseClient } from '../../../clients/hbase/thrift2.js';
import { type ConsumedRecord, startBatchConsumer } from '../../../clients/kafka/consumer.js';
import { createRedis } from '../../../clients/redis.js';
import { IsolatedStack } from '../../../infra/local/isolated-stack.js';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import type { ItemRecord } from '../../../model/data/types.js';
import { disposeFitted } from '../../../model/evaluate.js';
import { fitTwoTower } from '../../../model/pipeline.js';
import { ModelVersion, saveVersion } from '../../../model/version.js';
import type { BehaviourEvent } from '../../../schemas/behaviour.js';
import type { Exposure } from '../../../schemas/exposure.js';
import { userQueryOf } from '../../../serving/recall.js';
import { idRowKey, versionRowKey } from '../../../stores/embeddings/keys.js';
import { RedisIdRowStore } from '../../../stores/embeddings/redis.js';
import { decodeTagged } from '../../../stores/embeddings/tagged-vector.js';
import { HBaseProfileStore } from '../../../stores/profiles/hbase.js';
import { RedisSequenceStore } from '../../../stores/sequence/redis.js';
import { openItemVectors } from '../../../stores/vectors/open.js';
import { announceLive } from '../../../versions/channel.js';
import { type Arm, armOf } from '../../../versions/experiments/assign.js';
import { defineExperiment } from '../../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../../versions/experiments/registry.js';
import { ModelRegistry } from '../../../versions/registry.js';

// An A/B experiment on the real stack (Kafka, Redis, HBase, Milvus; ingest, sequence, embeddings
// and serve as their own processes): two versions with different towers, each with its own
// collection holding its own half of the catalogue, so every answer shows whose tower, ID row
// and collection served it.
const run = randomUUID().slice(0, 8);
const OPERATOR_KEY = `test-op-${run}`;
const CONTROL = 'v20240101-030000';
const CANDIDATE = 'v20240102-030000';
const NAME = `exp-${run}`;
const SHARE = 0.5;

interface RecallBody {
  request_id: string;
  user_id: string;
  model_version: string | null;
  experiment: string | null;
  arm: Arm | null;
  source: string;
  id_row: string | null;
  degraded: boolean;
  items: { item_id: string; score: number }[];
}

describe('A/B experiment in the recall API (real stack)', () => {
  const stack = new IsolatedStack({
    redisDb: 6,
    portOffset: 6,
    extraEnv: { RECALL_OPERATOR_KEYS: OPERATOR_KEY, LOG_LEVEL: 'warn' },
  });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const hbase = HBaseClient.fromConfig(cfg);
  const vectorStore = openItemVectors(cfg);
  const registry = new ModelRegistry(cfg, redis);
  const experiments = new ExperimentRegistry(redis, registry.dir);
  const rows = new RedisIdRowStore(redis);
  const sequences = new RedisSequenceStore(redis, { length: cfg.sequenceLength, ttlSeconds: 86_400 });
  const ds = syntheticDataset({ users: 120, items: 400, interactions: 6000, seed: 11 });
  const corpus = [...ds.items.values()];
  // each version's collection holds its own half of the catalogue
  const halves: Record<Arm, ItemRecord[]> = {
    control: corpus.filter((_, j) => j % 2 === 0),
    candidate: corpus.filter((_, j) => j % 2 === 1),
  };
  const ids = (records: ItemRecord[]) => new Set(records.map((r) => r.id));
  const versions: Record<string, { model: ModelVersion; vectors: Map<string, Float32Array> }> = {};
  const users = Array.from({ length: 40 }, (_, u) => `u${u}`);
  const answered: RecallBody[] = [];
  /** Answers to the operator's `arm` override. */
  const forcedIds = new Set<string>();

  async function recall(query: string, key = stack.recallKey): Promise<{ status: number; body: RecallBody }> {
    const res = await fetch(`${stack.recallUrl}/v1/recall?${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as RecallBody;
    if (res.status === 200) answered.push(body);
    return { status: res.status, body };
  }

  /** Trains a version (its own seed), saves it into the registry and builds its collection of `records`. */
  async function buildVersion(name: string, seed: number, records: ItemRecord[]): Promise<void> {
    const fitted = await fitTwoTower(ds, ds.interactions, {
      train: { epochs: 1, batchSize: 256, randomNegatives: 128, seed },
    });
    const dir = registry.versionDir(name);
    await saveVersion(dir, fitted.model, fitted.vocab, fitted.features, {
      version: name,
      createdAt: new Date().toISOString(),
      dataset: ds.name,
      training: { samples: 1, seconds: 1, samplesPerSecond: 1, epochs: 1, finalLoss: 1 },
    });
    disposeFitted(fitted);
    const model = await ModelVersion.load(dir);
    const vectors = model.itemVectors(records);
    await buildCollection(vectorStore, name, records, vectors, model.dim);
    versions[name] = {
      model,
      vectors: new Map(records.map((r, i) => [r.id, vectors.subarray(i * model.dim, (i + 1) * model.dim)])),
    };
  }

  /** Polls GET /v1/recall until `done` holds; how long that took (ms). */
  async function timeUntil(query: string, done: (b: RecallBody) => boolean): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      const r = await recall(query);
      expect(r.status).toBe(200);
      if (done(r.body)) return performance.now() - t0;
      if (performance.now() - t0 > 10_000) throw new Error(`not seen within 10 s: ${JSON.stringify(r.body)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function embeddingsMetric(name: string): Promise<number> {
    const text = await (await fetch(`${stack.urlOf('embeddings')}/metrics`)).text();
    // the processor's registry labels every series with its role
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return Number(line?.split(' ').at(-1) ?? Number.NaN);
  }

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    // the profile table the towers' user features are read from (no profiles: none written)
    await new HBaseProfileStore(hbase).ensure();
    await Promise.all([
      stack.up(['ingest', 'sequence', 'embeddings', 'serve']),
      (async () => {
        await buildVersion(CONTROL, 7, halves.control);
        await buildVersion(CANDIDATE, 8, halves.candidate);
      })(),
    ]);
    const pointer = {
      version: CONTROL,
      collection: vectorStore.collectionOf(CONTROL),
      dim: versions[CONTROL]?.model.dim as number,
      publishedAt: new Date().toISOString(),
    };
    await registry.publish(pointer);
    await announceLive(redis, 'published', pointer);
  }, 600_000);

  afterAll(async () => {
    for (const v of Object.values(versions)) v.model.dispose();
    await vectorStore.close();
    hbase.close();
    await redis.quit();
    await stack.close();
  }, 120_000);

  it('starts serving the arms on every request within a second of the start', async () => {
    const before = await recall('user_id=u1&k=5');
    expect([before.body.model_version, before.body.experiment, before.body.arm]).toEqual([
      CONTROL,
      null,
      null,
    ]);
    await experiments.start(
      defineExperiment(
        { name: NAME, candidate: CANDIDATE, share: SHARE },
        { alias: cfg.milvusAlias, version: CONTROL },
        new Date(),
      ),
    );
    const ms = await timeUntil('user_id=u1&k=5', (b) => b.experiment === NAME);
    process.stderr.write(`experiment: start seen by serve after ${ms.toFixed(0)} ms\n`);
    expect(ms).toBeLessThan(1000);
    // the embeddings processor has the candidate's towers and item vectors before behaviour comes
    await expect
      .poll(() => embeddingsMetric('towerflow_embeddings_experiment_versions'), { timeout: 60_000 })
      .toBe(1);
  });

  it('moves each user’s row of both versions, each under its own version', async () => {
    const t = Date.now() - 60_000;
    let seq = 0;
    const events: BehaviourEvent[] = users.flatMap((u, n) =>
      [0, 1, 2, 3].map((j) => ({
        event_id: `exp-${run}-${seq++}`,
        user_id: u,
        // two items of each half: both versions' rows move
        item_id: (j % 2 === 0 ? halves.control : halves.candidate)[(n * 3 + j) % 150]?.id as string,
        type: 'click',
        ts: t + n * 10 + j,
      })),
    );
    expect((await stack.post('/v1/events', { events })).status).toBe(202);
    await stack.waitForZeroLag(['sequence', 'embeddings']);
    for (const u of users) {
      expect(decodeTagged((await redis.get(idRowKey(u))) as string)?.tag).toBe(CONTROL);
      expect(decodeTagged((await redis.get(versionRowKey(CANDIDATE, u))) as string)?.tag).toBe(CANDIDATE);
    }
  });

  it('serves each user by its arm’s version end to end: its tower and ID row against its own collection', async () => {
    const at = Date.now();
    const seen = { control: 0, candidate: 0 };
    for (const u of users) {
      const arm = armOf(NAME, SHARE, u);
      const version = arm === 'candidate' ? CANDIDATE : CONTROL;
      // a backtest time pins the context features the scores are checked with; a backtest is
      // answered by an arm's version only when an operator names it (the arm is the user's own)
      const { status, body } = await recall(`user_id=${u}&k=10&at=${at}&arm=${arm}`, OPERATOR_KEY);
      expect(status).toBe(200);
      forcedIds.add(body.request_id);
      expect([
        body.experiment,
        body.arm,
        body.model_version,
        body.source,
        body.id_row,
        body.degraded,
      ]).toEqual([NAME, arm, version, 'personal', 'incremental', false]);
      expect(body.items).toHaveLength(10);
      const half = ids(halves[arm]);
      for (const it of body.items) expect(half.has(it.item_id)).toBe(true);
      // every score is this version's user vector (its tower, its row) against its item vectors
      const v = versions[version] as (typeof versions)[string];
      const row = (await rows.getOf(u, version))?.row;
      const history = (await sequences.recent(u)).map((e) => ({ itemId: e.item_id, ts: e.ts / 1000 }));
      const user = v.model.userVectors([userQueryOf(u, history, undefined, at / 1000, row)]);
      for (const it of body.items) {
        const item = v.vectors.get(it.item_id) as Float32Array;
        const dot = item.reduce((s, x, i) => s + x * (user[i] as number), 0);
        expect(Math.abs(it.score - dot)).toBeLessThan(1e-3);
      }
      seen[arm]++;
    }
    expect(seen.control + seen.candidate).toBe(users.length);
    expect(seen.control).toBeGreaterThan(0);
    expect(seen.candidate).toBeGreaterThan(0);
  });

  it('lets only an operator key choose the arm', async () => {
    const user = users.find((u) => armOf(NAME, SHARE, u) === 'control') as string;
    const refused = await recall(`user_id=${user}&k=5&arm=candidate`);
    expect(refused.status).toBe(403);
    expect((refused.body as unknown as { errors: { field: string }[] }).errors[0]?.field).toBe('arm');
    const forced = await recall(`user_id=${user}&k=5&arm=candidate`, OPERATOR_KEY);
    expect(forced.status).toBe(200);
    forcedIds.add(forced.body.request_id);
    expect([forced.body.arm, forced.body.model_version]).toEqual(['candidate', CANDIDATE]);
    const half = ids(halves.candidate);
    for (const it of forced.body.items) expect(half.has(it.item_id)).toBe(true);
  });

  it('logs every answer to recall.exposures, keyed by user, with the arm that served it', async () => {
    const wanted = new Map(answered.map((b) => [b.request_id, b]));
    const got = new Map<string, { key: string; exposure: Exposure }>();
    const consumer = await startBatchConsumer(cfg, {
      groupId: `test-exposures-${run}`,
      topics: [stack.topics.exposures],
      handle: async (records: ConsumedRecord[]) => {
        for (const r of records) {
          const e = JSON.parse(r.value?.toString('utf8') ?? '') as Exposure;
          got.set(e.request_id, { key: String(r.key), exposure: e });
        }
      },
    });
    try {
      await expect
        .poll(() => [...wanted.keys()].filter((id) => !got.has(id)).length, { timeout: 60_000 })
        .toBe(0);
    } finally {
      await consumer.stop();
    }
    for (const [id, b] of wanted) {
      const { key, exposure } = got.get(id) as { key: string; exposure: Exposure };
      expect(key).toBe(b.user_id);
      // the operator's forced look is outside the experiment
      const forced = forcedIds.has(id);
      expect(exposure).toMatchObject({
        user_id: b.user_id,
        experiment: forced ? null : b.experiment,
        arm: forced ? null : b.arm,
        model_version: b.model_version,
        source: b.source,
        items: b.items.map((i) => i.item_id),
      });
    }
  });

  it('stops serving the candidate within a second of the abort', async () => {
    const user = users.find((u) => armOf(NAME, SHARE, u) === 'candidate') as string;
    await experiments.end(NAME, 'aborted');
    const ms = await timeUntil(`user_id=${user}&k=5`, (b) => b.experiment === null);
    process.stderr.write(`experiment: abort seen by serve after ${ms.toFixed(0)} ms\n`);
    expect(ms).toBeLessThan(1000);
    const after = await recall(`user_id=${user}&k=5`);
    expect([after.body.model_version, after.body.arm]).toEqual([CONTROL, null]);
    await expect
      .poll(() => embeddingsMetric('towerflow_embeddings_experiment_versions'), { timeout: 60_000 })
      .toBe(0);
  });
});
