import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../model/data/random.js';
import { evaluateRankings, MetricAccumulator, rankTopK } from '../../../../model/eval/metrics.js';

/** A ranked list of `length` filler items with `item` at 0-based position `at`. */
function listWith(item: string, at: number, length = 100): string[] {
  const list = Array.from({ length }, (_, i) => `other${i}`);
  if (at >= 0) list[at] = item;
  return list;
}

describe('evaluateRankings', () => {
  it('matches hand-computed HR@K and NDCG@K', () => {
    const rankings = new Map([
      ['u1', listWith('A', 0)], // rank 1: NDCG 1 at every K
      ['u2', listWith('B', 2)], // rank 3: NDCG 1/log2(4) = 0.5
      ['u3', listWith('C', 14)], // rank 15: a hit from K=20 on, NDCG 1/log2(16) = 0.25
      ['u4', listWith('D', 62)], // rank 63: a hit at K=100 only, NDCG 1/log2(64) = 1/6
      ['u5', listWith('E', -1)], // not ranked
      ['u6', listWith('F', 120, 150)], // beyond 100: ignored
    ]);
    const tests = [
      { user: 'u1', item: 'A' },
      { user: 'u2', item: 'B' },
      { user: 'u3', item: 'C' },
      { user: 'u4', item: 'D' },
      { user: 'u5', item: 'E' },
      { user: 'u6', item: 'F' },
    ];
    const { users, metrics } = evaluateRankings(tests, (user) => rankings.get(user) ?? []);
    expect(users).toBe(6);
    expect(metrics['HR@10']).toBeCloseTo(2 / 6, 12);
    expect(metrics['HR@20']).toBeCloseTo(3 / 6, 12);
    expect(metrics['HR@50']).toBeCloseTo(3 / 6, 12);
    expect(metrics['HR@100']).toBeCloseTo(4 / 6, 12);
    expect(metrics['NDCG@10']).toBeCloseTo(1.5 / 6, 12);
    expect(metrics['NDCG@20']).toBeCloseTo(1.75 / 6, 12);
    expect(metrics['NDCG@50']).toBeCloseTo(1.75 / 6, 12);
    expect(metrics['NDCG@100']).toBeCloseTo((1.75 + 1 / 6) / 6, 12);
  });

  it('reports zeros for no users', () => {
    const { users, metrics } = new MetricAccumulator().result();
    expect(users).toBe(0);
    expect(Object.values(metrics)).toEqual(new Array(8).fill(0));
  });
});

describe('rankTopK', () => {
  /** Reference: full sort by score desc, then index asc. */
  function bySort(scores: Float32Array, k: number, exclude: Set<number>): number[] {
    return Array.from(scores.keys())
      .filter((i) => !exclude.has(i) && !Number.isNaN(scores[i]))
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, k);
  }

  it('agrees with a full sort, ties broken by lower index', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(random() * 300);
      // few distinct values, so ties are common
      const scores = Float32Array.from({ length: n }, () => Math.round(random() * 20) / 4);
      const exclude = new Set(Array.from({ length: Math.floor(n / 5) }, () => Math.floor(random() * n)));
      const k = 1 + Math.floor(random() * 40);
      expect(rankTopK(scores, k, exclude)).toEqual(bySort(scores, k, exclude));
    }
  });

  it('handles k beyond n, k of zero and NaN scores', () => {
    const scores = new Float32Array([0.1, Number.NaN, 0.9, 0.5]);
    expect(rankTopK(scores, 10, new Set([3]))).toEqual([2, 0]);
    expect(rankTopK(scores, 0, new Set())).toEqual([]);
  });
});
