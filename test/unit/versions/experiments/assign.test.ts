import { describe, expect, it } from 'vitest';
import { armOf, bucketOf } from '../../../../versions/experiments/assign.js';
import { sampleRatio } from '../../../../versions/experiments/stats.js';

const users = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

describe('arm assignment', () => {
  it('is sticky: the same (experiment, user) always gets the same point', () => {
    expect(bucketOf('exp-a', 'user-7')).toBe(bucketOf('exp-a', 'user-7'));
    expect(armOf('exp-a', 0.3, 'user-7')).toBe(armOf('exp-a', 0.3, 'user-7'));
  });

  it('is uniform: ten equal bins of 20,000 users pass a chi-square test', () => {
    const bins = new Array<number>(10).fill(0);
    for (const u of users) {
      const b = bucketOf('exp-a', u);
      expect(b >= 0 && b < 1).toBe(true);
      bins[Math.floor(b * 10)] = (bins[Math.floor(b * 10)] ?? 0) + 1;
    }
    const chi2 = bins.reduce((s, c) => s + (c - 2000) ** 2 / 2000, 0);
    expect(chi2).toBeLessThan(27.88); // χ²₉ at p = 0.001
  });

  it('gives each arm its share, as the sample-ratio test sees it', () => {
    const candidate = users.filter((u) => armOf('exp-a', 0.1, u) === 'candidate').length;
    expect(sampleRatio(users.length - candidate, candidate, 0.1).mismatch).toBe(false);
  });

  it('is independent between experiments: a 2×2 table of arms shows no association', () => {
    const association = (a: string, b: string): number => {
      const t = [0, 0, 0, 0];
      for (const u of users) {
        const i = (armOf(a, 0.5, u) === 'candidate' ? 2 : 0) + (armOf(b, 0.5, u) === 'candidate' ? 1 : 0);
        t[i] = (t[i] ?? 0) + 1;
      }
      const e = users.length / 4;
      return t.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    };
    expect(association('exp-a', 'exp-b')).toBeLessThan(16.27); // χ²₃ at p = 0.001
    // the statistic sees dependence: one experiment against itself puts every user on the diagonal
    expect(association('exp-a', 'exp-a')).toBeGreaterThan(users.length * 0.9);
  });
});
