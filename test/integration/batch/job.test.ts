import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateRefusedError, runBatch } from '../../../batch/job.js';
import { rollBack } from '../../../batch/rollback.js';
import { HBaseClient } from '../../../clients/hbase/thrift2.js';
import { MilvusConnection } from '../../../clients/milvus/connection.js';
import { createRedis } from '../../../clients/redis.js';
import { type Config, projectRoot } from '../../../config/index.js';
import { IsolatedStack } from '../../../infra/local/isolated-stack.js';
import { loadDataset } from '../../../model/data/load.js';
import { ModelVersion } from '../../../model/version.js';
import { IngestClient } from '../../../replay/client.js';
import { replay } from '../../../replay/run.js';
import { createLogger } from '../../../runtime/logger.js';
import { buildRecallApp } from '../../../serving/app.js';
import { recallDeps } from '../../../serving/main.js';
import type { RecallDeps, RecallResponse } from '../../../serving/recall.js';
import { idRowKey, userVectorKey } from '../../../stores/embeddings/keys.js';
import { RedisIdRowStore } from '../../../stores/embeddings/redis.js';
import { decodeTagged, encodeTagged } from '../../../stores/embeddings/tagged-vector.js';
import { HBaseProfileStore } from '../../../stores/profiles/hbase.js';
import { RedisItemChangeLog } from '../../../stores/profiles/redis-changes.js';
import { RedisSequenceStore } from '../../../stores/sequence/redis.js';
import { collectionOf } from '../../../stores/vectors/collections.js';
import type { VersionShape } from '../../../stores/vectors/index.js';
import { MilvusItemVectorStore } from '../../../stores/vectors/milvus.js';
import { MODEL_CHANNEL } from '../../../versions/channel.js';
import { ItemBypass } from '../../../versions/item-bypass.js';
import { LockBusyError } from '../../../versions/lock.js';
import { LIVE_REDIS_KEY, type LivePointer, ModelRegistry } from '../../../versions/registry.js';

/** The in-process recall app's read key, sent with every request. */
const RECALL_KEYS = { ingest: [], recall: ['job-test-recall-key'], operator: [] };
const RECALL_AUTH = { authorization: 'Bearer job-test-recall-key' };

type RecallBody = RecallResponse & { errors?: { field: string }[] };

// The daily job on real HBase, Redis, Milvus and TensorFlow: ml-latest-small (first 30k events)
// replayed through the ingest API and the processors, then trained, gated and published.
const DATE = '2018-09-30';
const WINDOW = 9000;
const execFileAsync = promisify(execFile);

describe('daily batch job (real HBase, Redis, Milvus, TensorFlow)', () => {
  // a short grace before replaced versions leave Milvus memory (the default 30 s per publish)
  const stack = new IsolatedStack({
    redisDb: 8,
    portOffset: 4,
    extraEnv: { BATCH_RELEASE_GRACE_SECONDS: '3' },
  });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const hbase = HBaseClient.fromConfig(cfg);
  const vectorStore = new MilvusItemVectorStore(MilvusConnection.fromConfig(cfg), cfg.milvusAlias);
  const deps = { cfg, hbase, redis, vectorStore };
  const registry = new ModelRegistry(cfg, redis);
  const run = (o: Parameters<typeof runBatch>[1] = {}) =>
    // one epoch even on the first run: these tests cover the job's mechanics, not convergence
    runBatch(deps, { date: DATE, windowDays: WINDOW, epochs: 1, ...o });

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    await stack.up(['ingest', 'history', 'sequence', 'items']);
    const ds = await loadDataset(path.join(projectRoot(), 'datasets', 'ml-latest-small'));
    const client = new IngestClient({ baseUrl: stack.ingestUrl, apiKey: stack.apiKey });
    await replay(ds, client, { batch: 1000, concurrency: 4, limit: 30_000 });
    await stack.waitForZeroLag(['history']);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.items);
  }, 300_000);
  afterAll(async () => {
    hbase.close();
    await vectorStore.close();
    await redis.quit();
    await stack.close();
  });

  it('first run: trains on the window, publishes a collection, the alias and the live pointer', async () => {
    await redis.set('tf:uvec:u1', 'stale vector of no version');
    const heard: string[] = [];
    const sub = redis.duplicate();
    await sub.subscribe(MODEL_CHANNEL);
    sub.on('message', (_c, m) => heard.push(m));
    const r = await run();
    expect(r.published).toBe(true);
    expect(r.window.events).toBe(30_000);
    expect(r.gate).toMatchObject({ pass: true, live: undefined });
    expect(r.metrics.candidate?.['HR@50']).toBeGreaterThan(r.metrics.popularity?.['HR@50'] ?? 1);
    expect(r.collection).toBe(collectionOf(cfg.milvusAlias, r.version));
    expect(await vectorStore.liveVersion()).toBe(r.version);
    expect(await vectorStore.count(r.version)).toBe(r.vectors.rows);
    expect(JSON.parse((await redis.get(LIVE_REDIS_KEY)) ?? '{}')).toMatchObject({
      version: r.version,
      collection: r.collection,
    });
    expect(existsSync(path.join(registry.versionDir(r.version), 'weights.bin'))).toBe(true);
    expect(await redis.exists('tf:uvec:u1')).toBe(0);
    await expect.poll(() => heard.map((m) => JSON.parse(m).version)).toContain(r.version);
    await sub.quit();

    // the bypass over items just published (a replayed catalogue) finds every row up to date:
    // its inference in another batch size matches the publish's within VECTOR_TOLERANCE
    const page = (await vectorStore.scan(r.version, 300).next()).value ?? [];
    expect(page).toHaveLength(300);
    const model = await ModelVersion.load(registry.versionDir(r.version));
    try {
      const pointer = (await registry.live()) as LivePointer;
      const replay = await new ItemBypass(
        vectorStore,
        new HBaseProfileStore(hbase),
        new RedisItemChangeLog(redis),
      ).applyTo(
        { pointer, model },
        page.map((p: { item_id: string }) => p.item_id),
      );
      expect(replay).toMatchObject({ upserted: 0, deleted: 0, unchanged: 300 });
    } finally {
      model.dispose();
    }
  });

  it('second run warm-starts from the live version, gates against it, and rollback returns to it', async () => {
    const first = await registry.live();
    const r = await run();
    expect(r.training.initFrom).toBe(first?.version);
    expect(r.metrics.live?.['HR@50']).toBeGreaterThan(0);
    expect((await registry.live())?.version).toBe(r.version);
    expect((await registry.state()).previous[0]?.version).toBe(first?.version);
    // the replaced version stays stored for rollback but leaves Milvus memory
    expect(r.retired.released).toEqual([first?.collection]);
    expect(await vectorStore.isLoaded(first?.version as string)).toBe(false);
    expect(await vectorStore.isLoaded(r.version)).toBe(true);

    // a running job holds the lease: no rollback under it
    await redis.set('tf:lock:batch', 'a running job', 'PX', 10_000);
    await expect(rollBack(cfg, registry, vectorStore, redis)).rejects.toThrow(LockBusyError);
    expect((await registry.live())?.version).toBe(r.version);
    await redis.del('tf:lock:batch');

    const back = await rollBack(cfg, registry, vectorStore, redis);
    expect(back?.live.version).toBe(first?.version);
    expect(await vectorStore.isLoaded(first?.version as string)).toBe(true);
    // the version rolled back from leaves memory after the grace, like a replaced one
    expect(back?.released).toEqual([r.collection]);
    expect(await vectorStore.isLoaded(r.version)).toBe(false);
    expect((await registry.live())?.version).toBe(first?.version);
    expect(await vectorStore.liveVersion()).toBe(first?.version);
  });

  it('refuses to publish on a gate regression (live keeps serving, nothing left behind) unless forced', async () => {
    const before = await registry.live();
    const orphansBefore = await registry.orphans(); // the version rolled back from, retired by the next publish
    const strict = { ...cfg, batchGateTolerance: '-1' } as Config; // must beat live by 1.0 HR@50: impossible
    const failed = runBatch({ ...deps, cfg: strict }, { date: DATE, windowDays: WINDOW });
    await expect(failed).rejects.toThrow(GateRefusedError);
    await expect(failed).rejects.toThrow(/below live/);
    expect(await registry.live()).toEqual(before);
    expect(await registry.orphans()).toEqual(orphansBefore);
    const forced = await runBatch({ ...deps, cfg: strict }, { date: DATE, windowDays: WINDOW, force: true });
    expect(forced.gate.pass).toBe(false);
    expect((await registry.live())?.version).toBe(forced.version);
    expect(forced.retired.versions).toEqual(orphansBefore);
    for (const v of orphansBefore) expect(await vectorStore.exists(v)).toBe(false);
  });

  it('drops the half-built collection when Milvus fails mid-publish; the live version keeps serving', async () => {
    const before = await registry.live();
    class FailingIndex extends MilvusItemVectorStore {
      created: string[] = [];
      override async create(version: string, shape: VersionShape) {
        this.created.push(version);
        return super.create(version, shape);
      }
      // the fault: Milvus refuses the index after the rows went in
      override async buildIndex(): Promise<void> {
        throw new Error('injected: index build failed');
      }
    }
    const failing = new FailingIndex(vectorStore.conn, cfg.milvusAlias);
    // forced: the fault under test comes after the gate, whatever the gate says of this run
    await expect(
      runBatch({ ...deps, vectorStore: failing }, { date: DATE, windowDays: WINDOW, force: true }),
    ).rejects.toThrow(/injected/);
    expect(failing.created).toHaveLength(1);
    expect(await vectorStore.exists(failing.created[0] as string)).toBe(false);
    expect(await registry.live()).toEqual(before);
    expect(await vectorStore.liveVersion()).toBe(before?.version);
  });

  it('fails with a clear error when HBase is unreachable; the live version keeps serving', async () => {
    const before = await registry.live();
    const deadHbase = new HBaseClient('127.0.0.1', 1, 1, cfg.hbaseNamespace);
    await expect(runBatch({ ...deps, hbase: deadHbase }, { date: DATE, windowDays: WINDOW })).rejects.toThrow(
      /HBase Thrift2 gateway 127.0.0.1:1 unreachable/,
    );
    deadHbase.close();
    expect(await registry.live()).toEqual(before);
    expect(await registry.orphans()).toEqual([]);
  });

  it('never runs twice at once; a crashed holder’s lock expires', async () => {
    await redis.set('tf:lock:batch', 'another-host-123', 'PX', 60_000);
    await expect(run()).rejects.toThrow(LockBusyError);
    await redis.set('tf:lock:batch', 'crashed-host-456', 'PX', 300); // a holder that stopped renewing
    await expect.poll(() => redis.exists('tf:lock:batch')).toBe(0);
    expect((await run({ force: true })).published).toBe(true);
    expect(await redis.exists('tf:lock:batch')).toBe(0);
  });

  it('serves recall with the live version: personal top-k without seen items, filters, cold start, 400s', async () => {
    await stack.waitForZeroLag(['sequence']);
    const deps = await recallDeps(cfg);
    const app = buildRecallApp(
      cfg,
      createLogger({ logLevel: 'silent' }, 'test'),
      deps,
      new Registry(),
      RECALL_KEYS,
    );
    try {
      const live = await registry.live();
      const get = async (qs: string) => {
        const res = await app.inject({ method: 'GET', url: `/v1/recall?${qs}`, headers: RECALL_AUTH });
        return { status: res.statusCode, body: res.json() };
      };
      const r = await get('user_id=1&k=10');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        user_id: '1',
        model_version: live?.version,
        source: 'personal',
        degraded: false,
      });
      expect(r.body.items).toHaveLength(10);
      const seen = new Set((await deps.sequence.recent('1')).map((e) => e.item_id));
      expect(seen.size).toBeGreaterThan(0);
      for (const it of r.body.items) expect(seen.has(it.item_id)).toBe(false);
      const scores = r.body.items.map((i: { score: number }) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      // the vector was cached under a tag naming what it depends on; an entry with that tag is
      // used as is (a different vector under it changes the answer), one with another tag is not
      // (written after the answer, not awaited: polled, under the live version's tag)
      await expect
        .poll(async () => decodeTagged((await redis.get(userVectorKey('1'))) ?? '')?.tag.split(' ')[0])
        .toBe(live?.version);
      const entry = decodeTagged((await redis.get(userVectorKey('1'))) as string);
      if (!entry) throw new Error('the cached vector does not decode');
      const other = entry.vector.map((x) => -x);
      await redis.set(userVectorKey('1'), encodeTagged(entry.tag, other), 'EX', 60);
      // each score is the flipped vector's inner product with the item's vector
      const flipped = (await get('user_id=1&k=10')).body.items as { item_id: string; score: number }[];
      expect(flipped).toHaveLength(10);
      const stored = await vectorStore.fetch(
        live?.version as string,
        flipped.map((i) => i.item_id),
        ['item_id', 'vector'],
      );
      const vectorOf = new Map(stored.map((x) => [String(x.item_id), x.vector as number[]]));
      for (const it of flipped)
        expect(it.score, it.item_id).toBeCloseTo(
          (vectorOf.get(it.item_id) ?? []).reduce((s, x, j) => s + x * (other[j] as number), 0),
          4,
        );
      await redis.set(userVectorKey('1'), encodeTagged(`${entry.tag} stale`, other), 'EX', 60);
      expect((await get('user_id=1&k=10')).body.items).toEqual(r.body.items);

      const comedy = await get('user_id=1&k=5&category=Comedy');
      // thousands of comedies in the catalogue: a full page
      expect(comedy.body.items).toHaveLength(5);
      for (const it of comedy.body.items)
        expect((await deps.profiles.getItem(it.item_id))?.features.genres).toEqual(
          expect.arrayContaining(['Comedy']),
        );

      const cold = await get('user_id=nobody-here&k=3');
      expect(cold.body).toMatchObject({ source: 'popular', id_row: null, model_version: live?.version });
      expect(cold.body.items).toHaveLength(3);
      // no history but a profile (here in HBase alone, as before a cache existed): the profile path,
      // and the miss fills recall's Redis copy (the cold user's as "none")
      await deps.profiles.applyUsers([
        { event_id: 'pp-1', user_id: 'profile-only', ts: 1000, profile: { region: 'north' } },
      ]);
      expect(await deps.profileCache.get('profile-only')).toBeUndefined();
      const byProfile = await get('user_id=profile-only&k=3');
      expect(byProfile.body).toMatchObject({ source: 'profile', id_row: 'version', degraded: false });
      expect(byProfile.body.items).toHaveLength(3);
      await expect
        .poll(() => deps.profileCache.get('profile-only'))
        .toMatchObject({ ts: 1000, profile: { region: 'north' } });
      await expect.poll(() => deps.profileCache.get('nobody-here')).toBeNull();
      expect((await get('user_id=profile-only&k=3')).body.items).toEqual(byProfile.body.items);
      // recall reads the copy: a profile there alone (none in HBase) is served the profile path
      await deps.profileCache.putMany([
        { user_id: 'copy-only', ts: 2000, event_id: 'pp-2', profile: { region: 'south' } },
      ]);
      expect(await deps.profiles.getUser('copy-only')).toBeUndefined();
      expect((await get('user_id=copy-only&k=3')).body).toMatchObject({ source: 'profile', degraded: false });

      for (const [qs, field] of [
        ['user_id=1&k=0', 'k'],
        ['user_id=1&k=100000', 'k'],
        ['user_id=a%20b', 'user_id'],
        ['k=3', 'user_id'],
        ['user_id=1&category=x%22%20or%20item_id%20!%3D%20%22', 'category'],
        ['user_id=1&category=Comedy%5D%20or%20true', 'category'],
        ['user_id=1&published_after=yesterday', 'published_after'],
        ['user_id=1&debug=1', 'debug'],
      ]) {
        const bad = await get(qs as string);
        expect({ qs, status: bad.status }).toEqual({ qs, status: 400 });
        expect(bad.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
    } finally {
      await app.close();
      await deps.close();
    }
  });

  /** A recall app over `c` (in process, real dependencies), closed after `fn`. */
  async function withRecall<T>(
    c: Config,
    fn: (get: (qs: string) => Promise<{ status: number; body: RecallBody }>, d: RecallDeps) => Promise<T>,
  ): Promise<T> {
    const d = await recallDeps(c);
    const app = buildRecallApp(
      c,
      createLogger({ logLevel: 'silent' }, 'test'),
      d,
      new Registry(),
      RECALL_KEYS,
    );
    try {
      return await fn(async (qs) => {
        const res = await app.inject({ method: 'GET', url: `/v1/recall?${qs}`, headers: RECALL_AUTH });
        return { status: res.statusCode, body: res.json() as RecallBody };
      }, d);
    } finally {
      await app.close();
      await d.close();
    }
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('item bypass: a new item is recallable within seconds of its event, and a removed one leaves', async () => {
    const client = new IngestClient({ baseUrl: stack.ingestUrl, apiKey: stack.apiKey });
    const live = await registry.live();
    const item = {
      v: 1,
      op: 'upsert',
      event_id: 'bypass-new-1',
      item_id: 'brand-new-item-1',
      ts: Date.now(),
      features: { genres: ['Bypasstest'], title: 'A brand new film (2026)' },
    };
    const current = {
      pointer: live as LivePointer,
      model: await ModelVersion.load(registry.versionDir(live?.version as string)),
    };
    const bypass = new ItemBypass(vectorStore, new HBaseProfileStore(hbase), new RedisItemChangeLog(redis));
    await withRecall(cfg, async (get) => {
      expect((await get('user_id=1&k=5&category=Bypasstest')).body.items).toEqual([]);
      const t0 = Date.now();
      await client.post('/v1/items', [item]);
      const hit = await until('the new item in recall', async () => {
        const r = await get('user_id=1&k=5&category=Bypasstest');
        return r.body.items.find((i) => i.item_id === item.item_id) ? r.body : undefined;
      });
      const seconds = (Date.now() - t0) / 1000;
      expect(hit).toMatchObject({ source: 'personal', model_version: live?.version });
      expect(seconds).toBeLessThan(30);
      const [row] = await vectorStore.fetch(live?.version as string, [item.item_id], ['item_id', 'category']);
      expect(row).toMatchObject({ item_id: item.item_id, category: 'Bypasstest' });
      // the same state again (a re-delivered batch) writes nothing
      expect(await bypass.applyTo(current, [item.item_id])).toMatchObject({
        upserted: 0,
        deleted: 0,
        unchanged: 1,
      });

      await client.post('/v1/items', [
        { v: 1, op: 'remove', event_id: 'bypass-rm-1', item_id: item.item_id, ts: Date.now() },
      ]);
      await until('the removed item gone from recall', async () => {
        const r = await get('user_id=1&k=5&category=Bypasstest');
        return r.body.items.length === 0 ? true : undefined;
      });
      // removed and without a row: no second delete
      const again = await bypass.applyTo(current, [item.item_id]);
      expect(again).toMatchObject({ upserted: 0, deleted: 0, unchanged: 1 });
    }).finally(() => current.model.dispose());
  });

  it('popularity correction re-scores the top 2k by s − β·ln(1 + count)', async () => {
    await withRecall(cfg, async (get, d) => {
      const plain = (await get('user_id=1&k=20')).body.items;
      const wide = new Map((await get('user_id=1&k=40')).body.items.map((i) => [i.item_id, i.score]));
      const corrected = (await get('user_id=1&k=20&popularity_beta=0.5')).body.items;
      expect(corrected).toHaveLength(20);
      expect(corrected.map((i) => i.item_id)).not.toEqual(plain.map((i) => i.item_id));
      const counts = await d.popularity.counts(
        'all',
        corrected.map((i) => i.item_id),
      );
      corrected.forEach((it, j) => {
        const s = wide.get(it.item_id);
        expect(s, `${it.item_id} comes from the top 2k`).toBeDefined();
        expect(it.score).toBeCloseTo((s as number) - 0.5 * Math.log1p(Number(counts[j] ?? 0)), 4);
      });
      const scores = corrected.map((i) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    });
  });

  it("uses the user's incremental ID row of the live version, and ignores a row of another version", async () => {
    const live = await registry.live();
    const idRows = new RedisIdRowStore(redis);
    await withRecall(cfg, async (get) => {
      const plain = (await get('user_id=1&k=10')).body;
      expect(plain.id_row).toBe('version');
      const model = await ModelVersion.load(registry.versionDir(live?.version as string));
      const dim = model.model.towers.idDim;
      model.dispose();
      let seed = 7;
      const row = Float32Array.from({ length: dim }, () => {
        seed = (seed * 16807) % 2147483647;
        return (seed / 2147483647 - 0.5) * 0.6;
      });
      // another version's row: the towers of this one cannot use it
      await idRows.setMany([{ userId: '1', version: 'v20000101-000000', row }]);
      const foreign = (await get('user_id=1&k=10')).body;
      expect(foreign.items).toEqual(plain.items);
      expect(foreign.id_row).toBe('version');
      // this version's row: a new vector at once (the cache entry names the row it was made with)
      await idRows.setMany([{ userId: '1', version: live?.version as string, row }]);
      const moved = (await get('user_id=1&k=10')).body;
      expect(moved.model_version).toBe(live?.version);
      expect(moved.id_row).toBe('incremental');
      expect(moved.items.map((i) => i.score)).not.toEqual(plain.items.map((i) => i.score));
      await redis.del(idRowKey('1'));
      expect((await get('user_id=1&k=10')).body.items).toEqual(plain.items);
    });
  });

  it('degrades instead of failing: Milvus unreachable → popular items; Redis unreachable → features from HBase', async () => {
    const live = await registry.live();
    await withRecall({ ...cfg, milvusAddress: '127.0.0.1:1' }, async (get) => {
      const r = await get('user_id=1&k=5');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ source: 'popular', degraded: true, model_version: live?.version });
      expect(r.body.items).toHaveLength(5);
    });
    const personal = await withRecall(cfg, async (get) => (await get('user_id=1&k=5')).body);
    await withRecall({ ...cfg, redisUrl: 'redis://127.0.0.1:1/0' }, async (get) => {
      const r = await get('user_id=1&k=5');
      expect(r.status).toBe(200);
      // the live version from the registry file, the history from HBase, the same vector
      expect(r.body).toMatchObject({ source: 'personal', degraded: true, model_version: live?.version });
      expect(r.body.items.map((i) => i.item_id)).toEqual(personal.items.map((i) => i.item_id));
    });
  });

  it('a publish under load switches versions without errors and never mixes towers and collections', async () => {
    const before = await registry.live();
    const users = Array.from({ length: 12 }, (_, i) => String(i + 1));
    const answers: { user: string; status: number; body: RecallBody }[] = [];
    let report: { version: string } | undefined;
    await withRecall(cfg, async (get) => {
      let done = false;
      // the job as its own process, as in production (its training would block this event loop)
      const job = execFileAsync(
        process.execPath,
        [
          path.join(projectRoot(), 'bin', 'towerflow.js'),
          'batch',
          'run',
          '--date',
          DATE,
          '--force',
          '--json',
        ],
        { env: { ...stack.env, BATCH_WINDOW_DAYS: String(WINDOW) }, maxBuffer: 64 << 20 },
      ).finally(() => {
        done = true;
      });
      const load = Array.from({ length: 4 }, async (_, w) => {
        for (let i = w; !done || i < w + 40; i += 4) {
          const user = users[i % users.length] as string;
          const r = await get(`user_id=${user}&k=10`);
          answers.push({ user, ...r });
        }
      });
      report = JSON.parse((await job).stdout) as { version: string };
      await Promise.all(load);
    });
    const published = await registry.live();
    expect(published?.version).toBe(report?.version);
    expect(answers.filter((a) => a.status !== 200 || a.body.degraded).slice(0, 3)).toEqual([]);
    const versions = new Set(answers.map((a) => a.body.model_version));
    expect(versions).toEqual(new Set([before?.version, published?.version]));
    // each answer's scores are its version's user tower against its version's item vectors
    const models = new Map<string, ModelVersion>();
    const seqs = new RedisSequenceStore(redis, {
      length: cfg.sequenceLength,
      ttlSeconds: cfg.sequenceTtlSeconds,
    });
    try {
      for (const v of versions) {
        models.set(v as string, await ModelVersion.load(registry.versionDir(v as string)));
        await vectorStore.load(v as string); // the replaced one was released
      }
      const personal = answers.filter((a) => a.body.source === 'personal');
      const sample = [...versions].flatMap((v) =>
        personal.filter((a) => a.body.model_version === v).slice(-6),
      );
      expect(new Set(sample.map((a) => a.body.model_version))).toEqual(versions);
      for (const a of sample) {
        const history = (await seqs.recent(a.user)).map((e) => ({ itemId: e.item_id, ts: e.ts / 1000 }));
        const query = { userId: a.user, history, ts: Date.now() / 1000 };
        const ids = a.body.items.map((i) => i.item_id);
        const dot = async (v: string) => {
          const u = (models.get(v) as ModelVersion).userVectors([query]);
          const rows = await vectorStore.fetch(v, ids, ['item_id', 'vector']);
          const byId = new Map(rows.map((r) => [String(r.item_id), r.vector as number[]]));
          return ids.map((id) => (byId.get(id) ?? []).reduce((s, x, j) => s + x * (u[j] ?? 0), 0));
        };
        const own = a.body.model_version as string;
        const other = [...versions].find((v) => v !== own) as string;
        const expected = await dot(own);
        for (const [j, it] of a.body.items.entries()) expect(it.score).toBeCloseTo(expected[j] as number, 3);
        const mixed = await dot(other);
        expect(mixed.some((x, j) => Math.abs(x - (a.body.items[j]?.score ?? 0)) > 1e-2)).toBe(true);
      }
    } finally {
      for (const m of models.values()) m.dispose();
    }
  });

  it('keeps BATCH_KEEP_VERSIONS published versions and removes older collections and folders', async () => {
    // five publishes in this file (a rollback between the second and the third): more than it keeps
    const st = await registry.state();
    const kept = [st.live, ...st.previous].map((p) => p?.version as string);
    expect(kept).toHaveLength(cfg.batchKeepVersions);
    // exactly their collections and folders are left
    expect(await vectorStore.versions()).toEqual([...kept].sort());
    expect(await registry.orphans()).toEqual([]);
  });
});
