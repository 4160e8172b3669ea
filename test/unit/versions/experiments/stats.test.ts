import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../model/data/random.js';
import {
  erfc,
  hitRate,
  MIN_USERS_PER_ARM,
  momentsOf,
  ratioVariance,
  recommend,
  relativeLift,
  sampleRatio,
  type UserCounts,
} from '../../../../versions/experiments/stats.js';

/** Users with 1–10 events each and a per-user propensity around `rate` (so events are correlated within a user). */
function simulate(rand: () => number, n: number, rate: number): UserCounts[] {
  return Array.from({ length: n }, () => {
    const events = 1 + Math.floor(rand() * 10);
    const p = Math.min(1, Math.max(0, rate * (0.5 + rand())));
    let hits = 0;
    for (let i = 0; i < events; i++) if (rand() < p) hits++;
    return { events, hits };
  });
}

describe('erfc and the sample-ratio test', () => {
  it('matches tabulated chi-square tails with one degree of freedom', () => {
    expect(erfc(0)).toBeCloseTo(1, 6);
    expect(sampleRatio(500, 500, 0.5)).toMatchObject({ chi2: 0, mismatch: false });
    expect(sampleRatio(500, 500, 0.5).p).toBeCloseTo(1, 6);
    // χ²₁ = 3.841 ↔ p = 0.05 and 10.828 ↔ p = 0.001
    expect(erfc(Math.sqrt(3.841459 / 2))).toBeCloseTo(0.05, 5);
    expect(erfc(Math.sqrt(10.827566 / 2))).toBeCloseTo(0.001, 6);
  });

  it('flags a 70/30 split of a design that asked for 50/50, and not a fair one', () => {
    const forced = sampleRatio(700, 300, 0.5);
    expect(forced.chi2).toBeCloseTo(160, 6);
    expect(forced.mismatch).toBe(true);
    expect(sampleRatio(512, 488, 0.5).mismatch).toBe(false);
    expect(sampleRatio(900, 100, 0.1).mismatch).toBe(false);
  });
});

describe('hit rate lift with a delta-method interval', () => {
  it('computes the ratio metric and its variance from per-user sums', () => {
    const m = momentsOf([
      { events: 2, hits: 1 },
      { events: 4, hits: 1 },
      { events: 2, hits: 2 },
    ]);
    expect(hitRate(m)).toBe(0.5);
    // by hand: mx=4/3, my=8/3, vx=1/3, vy=4/3, cxy=-1/3 → (vx/my² − 2·mx·cxy/my³ + mx²·vy/my⁴)/n
    const mx = 4 / 3;
    const my = 8 / 3;
    const expected = (1 / 3 / my ** 2 - (2 * mx * (-1 / 3)) / my ** 3 + (mx ** 2 * (4 / 3)) / my ** 4) / 3;
    expect(ratioVariance(m)).toBeCloseTo(expected, 12);
  });

  it('covers the true lift about 95 % of the time in A/A experiments (users, not events, independent)', () => {
    const rand = seededRandom(7);
    let covered = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      const l = relativeLift(momentsOf(simulate(rand, 300, 0.2)), momentsOf(simulate(rand, 300, 0.2)));
      if (l.ciLow <= 0 && l.ciHigh >= 0) covered++;
    }
    // binomial(400, 0.95): 95 % ± 3.3 points at three standard deviations
    expect(covered / runs).toBeGreaterThan(0.917);
    expect(covered / runs).toBeLessThan(0.983);
  });

  it('finds a real 30 % lift with an interval that excludes zero and holds the truth', () => {
    const rand = seededRandom(11);
    const l = relativeLift(momentsOf(simulate(rand, 3000, 0.2)), momentsOf(simulate(rand, 3000, 0.26)));
    expect(l.ciLow).toBeGreaterThan(0);
    expect(l.ciLow).toBeLessThan(0.3);
    expect(l.ciHigh).toBeGreaterThan(0.3);
  });
});

describe('the recommendation', () => {
  const rand = seededRandom(3);
  const control = momentsOf(simulate(rand, 2000, 0.2));
  const better = momentsOf(simulate(rand, 2000, 0.3));
  const worse = momentsOf(simulate(rand, 2000, 0.12));
  const fair = sampleRatio(2000, 2000, 0.5);

  it('promotes a clearly better candidate and aborts a clearly worse one', () => {
    expect(recommend(control, better, relativeLift(control, better), fair).recommendation).toBe('promote');
    expect(recommend(control, worse, relativeLift(control, worse), fair).recommendation).toBe('abort');
  });

  it('aborts on a sample-ratio mismatch whatever the lift says', () => {
    const d = recommend(control, better, relativeLift(control, better), sampleRatio(2800, 1200, 0.5));
    expect(d.recommendation).toBe('abort');
    expect(d.reason).toContain('sample-ratio mismatch');
  });

  it('keeps running while an arm is small', () => {
    const few = momentsOf(simulate(rand, MIN_USERS_PER_ARM - 1, 0.3));
    const d = recommend(control, few, relativeLift(control, few), fair);
    expect(d).toMatchObject({ recommendation: 'keep running' });
    expect(d.reason).toContain(`${MIN_USERS_PER_ARM - 1} users`);
  });
});
