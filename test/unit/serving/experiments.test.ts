import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/index.js';
import type { UserQuery } from '../../../model/version.js';
import type { Logger } from '../../../runtime/logger.js';
import type { Exposure } from '../../../schemas/exposure.js';
import { buildRecallApp } from '../../../serving/app.js';
import type { RecallDeps } from '../../../serving/recall.js';
import type { StoredRow, TaggedVector } from '../../../stores/embeddings/index.js';
import { encodeTagged } from '../../../stores/embeddings/tagged-vector.js';
import { armOf } from '../../../versions/experiments/assign.js';
import type { ExperimentDefinition } from '../../../versions/experiments/definition.js';

// The recall API's experiment path with in-memory stand-ins for the stores and towers: which
// version's tower, ID row and collection answer each request, the override's door, exposures and
// shadow computations. The real stack's version of this is test/integration/serving/experiment.test.ts.

const quiet = { warn() {}, info() {}, error() {}, debug() {} } as unknown as Logger;
const KEYS = { ingest: ['write-key'], recall: ['read-key'], operator: ['op-key'] };
const read = { authorization: 'Bearer read-key' };
const operator = { authorization: 'Bearer op-key' };
const CONTROL = 'v20240101-030000';
const CANDIDATE = 'v20240102-030000';
const ab: ExperimentDefinition = {
  name: 'exp-a',
  alias: 'towerflow',
  mode: 'ab',
  control: CONTROL,
  candidate: CANDIDATE,
  share: 0.5,
  startedAt: '2024-01-02T04:00:00.000Z',
  state: 'running',
};
const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
const inArm = (arm: 'control' | 'candidate', name = 'exp-a', share = 0.5) =>
  users.find((u) => armOf(name, share, u) === arm) as string;

/** A version's tower: a vector of its own (so a search shows whose tower made it); records its queries. */
function tower(version: string) {
  const queries: UserQuery[] = [];
  return {
    queries,
    userVectors: (qs: UserQuery[]) => {
      queries.push(...qs);
      return Float32Array.from(version === CANDIDATE ? [0, 1] : [1, 0]);
    },
  };
}

function stack(o: {
  experiment?: ExperimentDefinition;
  /** The user's row as each slot holds it. */
  rows?: { live?: string; [CANDIDATE]?: string };
  cached?: TaggedVector;
  sample?: number;
  /** Held until released: the candidate's towers load slowly (the shadow must not hold the answer). */
  candidateGate?: Promise<void>;
}) {
  const towers = { [CONTROL]: tower(CONTROL), [CANDIDATE]: tower(CANDIDATE) };
  const searches: { version: string; vector: number[] }[] = [];
  const exposures: Exposure[] = [];
  const stored = (tag: string | undefined): StoredRow | undefined =>
    tag
      ? { version: tag, row: Float32Array.from([0.5, 0.5]), raw: encodeTagged(tag, Float32Array.from([0.5])) }
      : undefined;
  // the version's own slot when it has a row there, else whatever the live slot holds, of any
  // version: recall's own check (rowFor) must refuse a row of another version, whoever hands it over
  const rowOf = (version: string): StoredRow | undefined =>
    (version === CANDIDATE ? stored(o.rows?.[CANDIDATE]) : undefined) ?? stored(o.rows?.live);
  const deps = {
    sequence: {
      recent: async () => [{ event_id: 'e1', item_id: 'h1', type: 'click', ts: 1_700_000_000_000 }],
    },
    history: {},
    seen: { get: async () => new Set<number>() },
    seenIgnoredTypes: new Set<string>(),
    profiles: { getUser: async () => undefined },
    profileCache: { get: async () => null, fill: async () => {} },
    idRows: {
      getOf: async (_u: string, version: string) => rowOf(version),
      getAny: async () => rowOf(CONTROL),
    },
    userVectors: { get: async () => o.cached, set: async () => {} },
    popularity: { top: async () => [], counts: async (_w: string, ids: string[]) => ids.map(() => 0) },
    searcher: {
      search: async (version: string, vector: ArrayLike<number>, limit: number) => {
        searches.push({ version, vector: [...Array.from(vector)] });
        // each version's collection holds its own items; the two share "both"
        const prefix = version === CANDIDATE ? 'cand' : 'ctrl';
        return [
          { item_id: 'both', score: 1 },
          ...Array.from({ length: limit - 1 }, (_, i) => ({ item_id: `${prefix}-${i}`, score: 0.5 })),
        ];
      },
    },
    models: {
      lastVersion: CONTROL,
      current: async () => ({
        pointer: { version: CONTROL, collection: 'c', dim: 2, publishedAt: '' },
        model: towers[CONTROL],
      }),
      served: async (version: string) => {
        if (version === CANDIDATE) await o.candidateGate;
        return { version, model: towers[version as keyof typeof towers] };
      },
    },
    sequenceLength: 50,
    experiments: { current: o.experiment },
    exposures: { record: (e: Exposure) => exposures.push(e) },
    sample: () => o.sample ?? 0.5,
  } as unknown as RecallDeps;
  const registry = new Registry();
  const app = buildRecallApp(loadConfig({}), quiet, deps, registry, KEYS);
  const metric = async (name: string, labels: Record<string, string> = {}, suffix = '') => {
    const m = await registry.getSingleMetric(name)?.get();
    return (
      m?.values.find(
        (v) =>
          (suffix === '' || (v as { metricName?: string }).metricName === `${name}${suffix}`) &&
          Object.entries(labels).every(([k, x]) => v.labels[k] === x),
      )?.value ?? 0
    );
  };
  return { app, towers, searches, exposures, metric };
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});
const open = (o: Parameters<typeof stack>[0]) => {
  const s = stack(o);
  apps.push(s.app);
  return s;
};

describe('recall with a running A/B experiment', () => {
  it('serves a candidate-arm user with the candidate’s tower, its collection and no row or cached vector of the control', async () => {
    const user = inArm('candidate');
    // the live slot holds the control's incremental row, the cache a vector the control computed
    const s = open({
      experiment: ab,
      rows: { live: CONTROL },
      cached: { tag: `${CONTROL} h1@1700000000 - -`, vector: Float32Array.from([9, 9]) },
    });
    const r = await s.app.inject({ url: `/v1/recall?user_id=${user}&k=3`, headers: read });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect([body.model_version, body.experiment, body.arm, body.id_row]).toEqual([
      CANDIDATE,
      'exp-a',
      'candidate',
      'version',
    ]);
    expect(body.items.map((i: { item_id: string }) => i.item_id)).toEqual(['both', 'cand-0', 'cand-1']);
    // the candidate's own tower, without the control's row, searched its own collection
    expect(s.towers[CANDIDATE].queries.map((q) => q.idRow)).toEqual([undefined]);
    expect(s.towers[CONTROL].queries).toEqual([]);
    expect(s.searches).toEqual([{ version: CANDIDATE, vector: [0, 1] }]);
  });

  it('serves a candidate-arm user with the candidate’s own incremental row when it has one', async () => {
    const user = inArm('candidate');
    const s = open({ experiment: ab, rows: { live: CONTROL, [CANDIDATE]: CANDIDATE } });
    const body = (await s.app.inject({ url: `/v1/recall?user_id=${user}&k=3`, headers: read })).json();
    expect([body.model_version, body.id_row]).toEqual([CANDIDATE, 'incremental']);
    expect(s.towers[CANDIDATE].queries[0]?.idRow).toEqual(Float32Array.from([0.5, 0.5]));
  });

  it('serves a control-arm user with the control’s tower, row and collection', async () => {
    const user = inArm('control');
    const s = open({ experiment: ab, rows: { live: CONTROL, [CANDIDATE]: CANDIDATE } });
    const body = (await s.app.inject({ url: `/v1/recall?user_id=${user}&k=2`, headers: read })).json();
    expect([body.model_version, body.experiment, body.arm, body.id_row]).toEqual([
      CONTROL,
      'exp-a',
      'control',
      'incremental',
    ]);
    expect(body.items.map((i: { item_id: string }) => i.item_id)).toEqual(['both', 'ctrl-0']);
    expect(s.searches).toEqual([{ version: CONTROL, vector: [1, 0] }]);
    expect(s.towers[CANDIDATE].queries).toEqual([]);
  });

  it('times each arm’s answers apart (towerflow_recall_arm_seconds)', async () => {
    const s = open({ experiment: ab });
    for (const u of [inArm('candidate'), inArm('control'), inArm('control')])
      expect((await s.app.inject({ url: `/v1/recall?user_id=${u}&k=2`, headers: read })).statusCode).toBe(
        200,
      );
    // a forced arm is debugging traffic: not timed as the arm's
    await s.app.inject({
      url: `/v1/recall?user_id=${inArm('control')}&k=2&arm=candidate`,
      headers: operator,
    });
    expect(await s.metric('towerflow_recall_arm_seconds', { arm: 'candidate' }, '_count')).toBe(1);
    expect(await s.metric('towerflow_recall_arm_seconds', { arm: 'control' }, '_count')).toBe(2);
  });
});

describe('the arm override', () => {
  it('is refused with 403 naming arm to a recall key', async () => {
    const s = open({ experiment: ab });
    const r = await s.app.inject({ url: '/v1/recall?user_id=user-1&arm=candidate', headers: read });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ error: 'forbidden', errors: [{ field: 'arm' }] });
    expect(r.json().message).toMatch(/^arm: .*operator key/);
  });

  it('answers 400 naming arm to a bad value, whatever the key', async () => {
    const s = open({ experiment: ab });
    for (const headers of [read, operator]) {
      const r = await s.app.inject({ url: '/v1/recall?user_id=user-1&arm=treatment', headers });
      expect([r.statusCode, r.json().errors]).toEqual([
        400,
        [{ field: 'arm', message: 'control or candidate' }],
      ]);
    }
  });

  it('answers 409 naming arm while no experiment runs', async () => {
    const s = open({});
    const r = await s.app.inject({ url: '/v1/recall?user_id=user-1&arm=control', headers: operator });
    expect([r.statusCode, r.json().error, r.json().errors[0].field]).toEqual([409, 'conflict', 'arm']);
  });

  it('serves the asked arm to an operator key, logged outside the experiment', async () => {
    const user = inArm('control');
    const s = open({ experiment: ab });
    const r = await s.app.inject({ url: `/v1/recall?user_id=${user}&k=2&arm=candidate`, headers: operator });
    const body = r.json();
    expect([r.statusCode, body.model_version, body.arm, body.experiment]).toEqual([
      200,
      CANDIDATE,
      'candidate',
      'exp-a',
    ]);
    await expect.poll(() => s.exposures.length).toBe(1);
    expect(s.exposures[0]).toMatchObject({
      request_id: body.request_id,
      experiment: null,
      arm: null,
      model_version: CANDIDATE,
    });
  });
});

describe('exposures', () => {
  it('records each 200 answer once with its request id, arm and items, and nothing for refused requests', async () => {
    const user = inArm('candidate');
    const s = open({ experiment: ab });
    const r = await s.app.inject({ url: `/v1/recall?user_id=${user}&k=2`, headers: read });
    await s.app.inject({ url: '/v1/recall?user_id=user-1&k=0', headers: read });
    await s.app.inject({ url: '/v1/recall?user_id=user-1&arm=control', headers: read });
    await expect.poll(() => s.exposures.length).toBe(1);
    const body = r.json();
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.exposures[0]).toEqual({
      request_id: body.request_id,
      user_id: user,
      experiment: 'exp-a',
      arm: 'candidate',
      model_version: CANDIDATE,
      source: 'personal',
      items: ['both', 'cand-0'],
      ts: expect.any(Number),
    });
  });
});

describe('a shadow experiment', () => {
  const shadow: ExperimentDefinition = { ...ab, name: 'exp-s', mode: 'shadow', share: 0.25 };

  it('returns the control’s answer without waiting for the candidate, then records the candidate’s latency and overlap@K', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = open({ experiment: shadow, sample: 0.1, candidateGate: gate });
    const r = await s.app.inject({
      url: `/v1/recall?user_id=${inArm('candidate', 'exp-s', 0.25)}&k=2`,
      headers: read,
    });
    // answered while the candidate's towers are still loading
    expect(r.statusCode).toBe(200);
    expect([r.json().model_version, r.json().experiment, r.json().arm]).toEqual([CONTROL, null, null]);
    expect(await s.metric('towerflow_recall_shadow_total', { outcome: 'done' })).toBe(0);
    release();
    await expect.poll(() => s.metric('towerflow_recall_shadow_total', { outcome: 'done' })).toBe(1);
    // the candidate searched its own collection with its own tower's vector
    expect(s.searches).toEqual([
      { version: CONTROL, vector: [1, 0] },
      { version: CANDIDATE, vector: [0, 1] },
    ]);
    // live [both, ctrl-0] and shadow [both, cand-0] share one item of k = 2
    expect(await s.metric('towerflow_recall_shadow_overlap', {}, '_sum')).toBe(0.5);
    expect(await s.metric('towerflow_recall_shadow_seconds', {}, '_count')).toBe(1);
    // the exposure is the live answer's, outside any arm
    expect(s.exposures.map((e) => [e.model_version, e.experiment, e.arm])).toEqual([[CONTROL, null, null]]);
  });

  it('leaves a request outside the sample unshadowed', async () => {
    const s = open({ experiment: shadow, sample: 0.25 });
    expect((await s.app.inject({ url: '/v1/recall?user_id=user-1&k=2', headers: read })).statusCode).toBe(
      200,
    );
    await new Promise((r) => setImmediate(r));
    expect(s.searches.map((x) => x.version)).toEqual([CONTROL]);
    expect(await s.metric('towerflow_recall_shadow_seconds', {}, '_count')).toBe(0);
  });
});
