import { describe, expect, it } from 'vitest';
import { exposureContract } from '../../../schemas/index.js';
import { exposureOf, overlapAtK, type Route, routeOf } from '../../../serving/arms.js';
import type { RecallResponse } from '../../../serving/recall.js';
import { armOf } from '../../../versions/experiments/assign.js';
import type { ExperimentDefinition } from '../../../versions/experiments/definition.js';

const CONTROL = 'v20240101-030000';
const CANDIDATE = 'v20240102-030000';
const exp = (over: Partial<ExperimentDefinition> = {}): ExperimentDefinition => ({
  name: 'exp-a',
  alias: 'towerflow',
  mode: 'ab',
  control: CONTROL,
  candidate: CANDIDATE,
  share: 0.3,
  startedAt: '2024-01-02T04:00:00.000Z',
  state: 'running',
  ...over,
});
const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
const routeFor = (
  d: ExperimentDefinition | undefined,
  user: string,
  override?: 'control' | 'candidate',
  sample = 0.5,
) => {
  const r = routeOf(d, user, override, sample);
  if (!r.ok) throw new Error(r.message);
  return r.route;
};

describe('routing a request (A/B)', () => {
  it('serves each user by its own arm’s version, the same on every request', () => {
    const seen = { control: 0, candidate: 0 };
    for (const u of users) {
      const arm = armOf('exp-a', 0.3, u);
      const expected: Route = {
        experiment: 'exp-a',
        arm,
        version: arm === 'candidate' ? CANDIDATE : CONTROL,
        forced: false,
      };
      // the per-request random sample plays no part in an A/B arm
      expect(routeFor(exp(), u, undefined, 0)).toEqual(expected);
      expect(routeFor(exp(), u, undefined, 0.99)).toEqual(expected);
      seen[arm]++;
    }
    // both arms occur (the split itself is armOf's, tested in versions/experiments/assign.test.ts)
    expect(seen.control).toBeGreaterThan(0);
    expect(seen.candidate).toBeGreaterThan(0);
  });

  it('outside an experiment serves the live pointer (no version pinned), no arm', () => {
    expect(routeFor(undefined, 'user-1')).toEqual({ experiment: null, arm: null, forced: false });
  });

  it('lets the override choose either arm, marked forced', () => {
    const u = users.find((x) => armOf('exp-a', 0.3, x) === 'control') as string;
    expect(routeFor(exp(), u, 'candidate')).toEqual({
      experiment: 'exp-a',
      arm: 'candidate',
      version: CANDIDATE,
      forced: true,
    });
    expect(routeFor(exp({ mode: 'shadow' }), u, 'candidate').version).toBe(CANDIDATE);
  });

  it('refuses the override while no experiment runs, naming arm', () => {
    const r = routeOf(undefined, 'user-1', 'candidate', 0.5);
    expect(r).toEqual({ ok: false, message: 'arm: no experiment is running, so there is no arm to choose' });
  });
});

describe('routing a request (shadow)', () => {
  it('answers everybody with the control and shadows the candidate for a share of requests', () => {
    const d = exp({ mode: 'shadow', share: 0.25 });
    expect(routeFor(d, 'user-1', undefined, 0.2499)).toEqual({
      experiment: null,
      arm: null,
      version: CONTROL,
      shadow: CANDIDATE,
      forced: false,
    });
    expect(routeFor(d, 'user-1', undefined, 0.25)).toEqual({
      experiment: null,
      arm: null,
      version: CONTROL,
      forced: false,
    });
  });
});

const answer = (items: number): RecallResponse => ({
  user_id: 'user-1',
  model_version: CANDIDATE,
  experiment: 'exp-a',
  arm: 'candidate',
  source: 'personal',
  id_row: 'incremental',
  degraded: false,
  items: Array.from({ length: items }, (_, i) => ({ item_id: `i${i}`, score: 1 - i / 10_000 })),
});

describe('exposure records', () => {
  const ab: Route = { experiment: 'exp-a', arm: 'candidate', version: CANDIDATE, forced: false };

  it('carry the answer’s request, user, experiment, arm, version, source and items, valid under the contract', () => {
    const e = exposureOf('req-1', answer(3), ab, 1_706_745_600_000);
    expect(e).toEqual({
      request_id: 'req-1',
      user_id: 'user-1',
      experiment: 'exp-a',
      arm: 'candidate',
      model_version: CANDIDATE,
      source: 'personal',
      items: ['i0', 'i1', 'i2'],
      ts: 1_706_745_600_000,
    });
    expect(exposureContract.validate(e).ok).toBe(true);
  });

  it('leave a forced arm out of the experiment (an operator’s look is not a user of the arm)', () => {
    const e = exposureOf('req-2', answer(2), { ...ab, forced: true }, 1);
    expect([e.experiment, e.arm, e.model_version]).toEqual([null, null, CANDIDATE]);
  });

  it('hold at most the contract’s 1,000 items, best first, when RECALL_MAX_K allows more', () => {
    const e = exposureOf('req-3', answer(1500), ab, 1);
    expect(e.items).toHaveLength(1000);
    expect(e.items.at(-1)).toBe('i999');
    expect(exposureContract.validate(e).ok).toBe(true);
  });
});

describe('overlap@K', () => {
  it('is the share of the top k both answers hold', () => {
    expect(overlapAtK(['a', 'b', 'c', 'd'], ['d', 'c', 'x', 'y'], 4)).toBe(0.5);
    expect(overlapAtK(['a', 'b'], ['a', 'b'], 2)).toBe(1);
    expect(overlapAtK(['a', 'b'], ['c'], 2)).toBe(0);
    // only the top k of each count, and a short answer counts against k
    expect(overlapAtK(['a', 'b', 'c'], ['c', 'x'], 2)).toBe(0);
    expect(overlapAtK(['a', 'b', 'c'], ['c', 'a'], 2)).toBe(0.5);
    expect(overlapAtK(['a'], ['a'], 4)).toBe(0.25);
  });
});
