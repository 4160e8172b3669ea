import { describe, expect, it } from 'vitest';
import type { ArmResults } from '../../../../stores/experiments/index.js';
import { defineExperiment } from '../../../../versions/experiments/definition.js';
import { buildReport } from '../../../../versions/experiments/report.js';

const def = defineExperiment(
  { name: 'exp', candidate: 'v20240201-030405', share: 0.5 },
  { alias: 'items', version: 'v20240131-030405' },
  new Date('2024-02-01T00:00:00Z'),
);

/** `n` exposed users of whom `active` have `events` events each with `hits` hits. */
function arm(n: number, active: number, events: number, hits: number): ArmResults {
  const users = new Map<string, { events: number; hits: number }>();
  for (let i = 0; i < active; i++) users.set(`u${i}`, { events, hits: i % 2 === 0 ? hits : hits - 1 });
  return { exposedUsers: n, users, positions: new Map([['1', 3]]) };
}

describe('experiment report', () => {
  it('names each arm with its version, counts exposed users and hit rates', () => {
    const r = buildReport(
      def,
      new Map([
        ['control', arm(500, 400, 4, 1)],
        ['candidate', arm(510, 420, 4, 2)],
      ]),
    );
    expect(r.arms.map((a) => [a.name, a.model_version, a.users, a.events])).toEqual([
      ['control', 'v20240131-030405', 500, 1600],
      ['candidate', 'v20240201-030405', 510, 1680],
    ]);
    expect(r.arms[0]?.hit_rate).toBeCloseTo(200 / 1600, 12);
    expect(r.arms[1]?.hit_rate).toBeCloseTo(630 / 1680, 12);
    expect(r.lift).toBeCloseTo(630 / 1680 / (200 / 1600) - 1, 12);
    expect(r.ci_low).toBeGreaterThan(0);
    expect(r.srm_mismatch).toBe(false);
    expect(r.recommendation).toBe('promote');
    expect(r.arms[0]?.positions).toEqual({ '1': 3 });
  });

  it('flags a forced 70/30 split of a 50/50 design and recommends abort', () => {
    const r = buildReport(
      def,
      new Map([
        ['control', arm(700, 400, 4, 1)],
        ['candidate', arm(300, 250, 4, 2)],
      ]),
    );
    expect(r.srm_mismatch).toBe(true);
    expect(r.srm_p).toBeLessThan(0.001);
    expect(r.recommendation).toBe('abort');
  });

  it('keeps running with no results yet', () => {
    const r = buildReport(def, new Map());
    expect(r.arms.map((a) => a.users)).toEqual([0, 0]);
    expect(Number.isNaN(r.lift)).toBe(true);
    expect(r.recommendation).toBe('keep running');
  });
});
