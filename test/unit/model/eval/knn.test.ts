import { describe, expect, it } from 'vitest';
import type { Dataset, Interaction, ItemRecord } from '../../../../model/data/types.js';
import {
  buildCooccurrenceIndex,
  evaluateItemKnn,
  evaluateKnnBaselines,
  ITEM_KNN,
  ITEM_KNN_RECENT,
  itemKnnRanker,
  knnScorer,
  knnWorkBound,
  RECENT_DECAY,
  RECENT_ITEMS,
  recentSeeds,
  seedsFor,
} from '../../../../model/eval/knn.js';
import { leaveLastOut } from '../../../../model/eval/protocol.js';
import { byUserInTimeOrder } from '../../../../model/samples.js';

/** [user, item, ts, key?] rows in file order; the key (the time order's tie-break) defaults to the row. */
function dataset(rows: [string, string, number, string?][], corpus: string[]): Dataset {
  const interactions: Interaction[] = rows.map(([user, item, ts, key], row) => ({
    user,
    item,
    ts,
    key: key ?? `k${String(row).padStart(3, '0')}`,
    row,
  }));
  const items = new Map<string, ItemRecord>(corpus.map((id) => [id, { id, categorical: {}, numeric: {} }]));
  const users = new Map([...new Set(rows.map((r) => r[0]))].map((id) => [id, { id, categorical: {} }]));
  return { name: 'hand', interactions, items, users, skipped: [] };
}

const fillers = Array.from({ length: 30 }, (_, i) => `f${String(i + 1).padStart(2, '0')}`);
// corpus rows: A..F, then f01..f30 (never interacted), then G (only ever a held-out item)
const corpus = ['A', 'B', 'C', 'D', 'E', 'F', ...fillers, 'G'];

// Training items (binary): u1 ABC, u2 AB (A twice), u3 BCD, u4 CDE, u5 DEF, u6 ABF; the last row
// of each user (ts 10) is held out. Users per item: n_A 3, n_B 4, n_C 3, n_D 3, n_E 2, n_F 2.
// Co-occurrence: AB 3, AC 1, AF 1, BC 2, BD 1, BF 1, CD 2, CE 1, DE 2, DF 1, EF 1.
const ds = dataset(
  [
    ['u1', 'A', 1],
    ['u1', 'B', 2],
    ['u1', 'C', 3],
    ['u1', 'D', 10],
    ['u2', 'A', 1],
    ['u2', 'A', 2],
    ['u2', 'B', 3],
    ['u2', 'E', 10],
    ['u3', 'B', 1],
    ['u3', 'C', 2],
    ['u3', 'D', 3],
    ['u3', 'G', 10],
    ['u4', 'C', 1],
    ['u4', 'D', 2],
    ['u4', 'E', 3],
    ['u4', 'A', 10],
    ['u5', 'D', 1],
    ['u5', 'E', 2],
    ['u5', 'F', 3],
    ['u5', 'f25', 10],
    ['u6', 'A', 1],
    ['u6', 'B', 2],
    ['u6', 'F', 3],
    ['u6', 'f15', 10],
  ],
  corpus,
);
const split = leaveLastOut(ds);

describe('item-kNN (cosine on co-occurrence)', () => {
  it('scores Σ co(i,j)/sqrt(n_i·n_j) over the seeds, a repeated item counted once', () => {
    const index = buildCooccurrenceIndex(corpus, split);
    const score = knnScorer(index);
    const s = score(['A', 'B', 'C'].map((id) => ({ row: index.rowOf.get(id) as number, weight: 1 })));
    const at = (id: string) => s[index.rowOf.get(id) as number];
    // D: BD 1/sqrt(4·3) + CD 2/sqrt(3·3); F: AF 1/sqrt(3·2) + BF 1/sqrt(4·2); E: CE 1/sqrt(3·2)
    expect(at('D')).toBeCloseTo(1 / Math.sqrt(12) + 2 / 3, 12);
    expect(at('F')).toBeCloseTo(1 / Math.sqrt(6) + 1 / Math.sqrt(8), 12);
    expect(at('E')).toBeCloseTo(1 / Math.sqrt(6), 12);
    expect(at('f01')).toBe(0);
    expect(at('G')).toBe(0);
    // a training item scores highest (self-similarity 1 + AB 3/sqrt(12) + CB 2/sqrt(12)): only
    // the exclusion keeps it out of the ranking
    expect(at('B')).toBeCloseTo(1 + 5 / Math.sqrt(12), 12);
    // weights scale each seed's contribution
    const weighted = score([
      { row: index.rowOf.get('C') as number, weight: 0.5 },
      { row: index.rowOf.get('B') as number, weight: 2 },
    ]);
    expect(weighted[index.rowOf.get('D') as number]).toBeCloseTo(0.5 * (2 / 3) + 2 / Math.sqrt(12), 12);
  });

  it("excludes the user's training items and ranks the full corpus, zero scores in corpus order", () => {
    const rank = itemKnnRanker(corpus, split, {}, 6);
    expect(rank('u1')).toEqual(['D', 'F', 'E', 'f01', 'f02', 'f03']);
    // u2 trained on A (twice) and B: C 1/3+2/sqrt(12), F 1/sqrt(6)+1/sqrt(8), D 1/sqrt(12), then E
    // (no co-occurrence, corpus row 4) before the fillers
    expect(rank('u2')).toEqual(['C', 'F', 'D', 'E', 'f01', 'f02']);
    const full = itemKnnRanker(corpus, split);
    for (const [user, items] of split.trainItemsByUser) {
      const ranked = full(user);
      expect(ranked).toHaveLength(corpus.length - items.size);
      for (const id of items) expect(ranked).not.toContain(id);
    }
    // an unknown user scores nothing: the corpus in order
    expect(rank('nobody')).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
  });

  it('gives exact HR and NDCG on the split (held-out ranks 1, 4, 34, 3, 28, 18)', () => {
    // u1 D: D first. u2 E: 4th. u3 G: E, A, F, the 30 fillers, then G: 34th. u4 A: F, B, A: 3rd.
    // u5 f25: C, B, A, f01…: 28th. u6 f15: C, D, E, f01…: 18th.
    expect(split.test.map((t) => t.item)).toEqual(['D', 'E', 'G', 'A', 'f25', 'f15']);
    const r = evaluateItemKnn(ds, split);
    const dcg = (rank: number) => 1 / Math.log2(rank + 1);
    expect(r.users).toBe(6);
    expect(r.metrics['HR@10']).toBe(3 / 6);
    expect(r.metrics['HR@20']).toBe(4 / 6);
    expect(r.metrics['HR@50']).toBe(1);
    expect(r.metrics['HR@100']).toBe(1);
    expect(r.metrics['NDCG@10']).toBeCloseTo((dcg(1) + dcg(4) + dcg(3)) / 6, 12);
    expect(r.metrics['NDCG@50']).toBeCloseTo(
      (dcg(1) + dcg(4) + dcg(34) + dcg(3) + dcg(28) + dcg(18)) / 6,
      12,
    );
  });
});

describe('recency item-kNN (last 5 training items)', () => {
  // r's two oldest items O1, O2 co-occur only with X (p1..p3 trained on O1 O2 X); its last five,
  // N1..N5, only with Y (q1: N1 N2 N3 Y, q2: N4 N5 Y; z1..z6 trained on Y alone, so n_Y = 8).
  // The p and q users hold out H. O2 and N1 share a timestamp: the time order's key puts N1 later
  // (its key sorts after O2's), while the file puts O2 after N1.
  const rows: [string, string, number, string?][] = [
    ['r', 'O1', 1],
    ['r', 'N1', 2, 'kz'],
    ['r', 'O2', 2, 'ka'],
    ['r', 'N2', 3],
    ['r', 'N3', 4],
    ['r', 'N4', 5],
    ['r', 'N5', 6],
    ['r', 'T', 10],
    ...['p1', 'p2', 'p3'].flatMap((u): [string, string, number][] => [
      [u, 'O1', 1],
      [u, 'O2', 2],
      [u, 'X', 3],
      [u, 'H', 9],
    ]),
    ['q1', 'N1', 1],
    ['q1', 'N2', 2],
    ['q1', 'N3', 3],
    ['q1', 'Y', 4],
    ['q1', 'H', 9],
    ['q2', 'N4', 1],
    ['q2', 'N5', 2],
    ['q2', 'Y', 3],
    ['q2', 'H', 9],
    ...['z1', 'z2', 'z3', 'z4', 'z5', 'z6'].map((u): [string, string, number] => [u, 'Y', 1]),
  ];
  const items = ['O1', 'O2', 'N1', 'N2', 'N3', 'N4', 'N5', 'T', 'X', 'Y', 'H'];
  const rds = dataset(rows, items);
  const rsplit = leaveLastOut(rds);

  it('seeds the last 5 distinct items in the project time order, latest first, decay^r', () => {
    const history = byUserInTimeOrder(rsplit.train).get('r') ?? [];
    // the time order breaks the tie by key, not file row (else this test would not tell them apart)
    expect(history.map((x) => x.item)).toEqual(['O1', 'O2', 'N1', 'N2', 'N3', 'N4', 'N5']);
    const rowOf = new Map(items.map((id, i) => [id, i]));
    expect(recentSeeds(history, rowOf, 5, 0.5)).toEqual([
      { row: rowOf.get('N5'), weight: 1 },
      { row: rowOf.get('N4'), weight: 0.5 },
      { row: rowOf.get('N3'), weight: 0.25 },
      { row: rowOf.get('N2'), weight: 0.125 },
      { row: rowOf.get('N1'), weight: 0.0625 },
    ]);
    // a repeated item counts once, at its latest row
    const repeated = [...history, { ...(history[3] as Interaction), ts: 7, key: 'k999' }];
    expect(recentSeeds(repeated, rowOf, 3).map((s) => s.row)).toEqual(
      ['N2', 'N5', 'N4'].map((id) => rowOf.get(id)),
    );
    // seedsFor reads the split's rows through the same order
    const index = buildCooccurrenceIndex(items, rsplit);
    const seeds = seedsFor(index, rsplit.train, { recent: RECENT_ITEMS, decay: RECENT_DECAY })('r');
    expect(seeds.map((s) => index.ids[s.row])).toEqual(['N5', 'N4', 'N3', 'N2', 'N1']);
    expect(seeds.map((s) => s.weight)).toEqual([0, 1, 2, 3, 4].map((k) => RECENT_DECAY ** k));
  });

  it('only the last 5 count: old items pointing elsewhere move nothing', () => {
    const index = buildCooccurrenceIndex(items, rsplit);
    const score = knnScorer(index);
    const row = (id: string) => index.rowOf.get(id) as number;
    // every training item: X = 2·3/sqrt(4·3) = sqrt(3), Y = 5·1/sqrt(2·8) = 1.25
    const all = Array.from(score(seedsFor(index, rsplit.train)('r')));
    expect(all[row('X')]).toBeCloseTo(Math.sqrt(3), 12);
    expect(all[row('Y')]).toBeCloseTo(1.25, 12);
    expect(itemKnnRanker(items, rsplit, {}, 3)('r')).toEqual(['X', 'Y', 'T']);
    // last 5 (unweighted): X 0, Y still 1.25, so Y first and X falls to corpus order after T
    const recent = Array.from(score(seedsFor(index, rsplit.train, { recent: 5 })('r')));
    expect(recent[row('X')]).toBe(0);
    expect(recent[row('Y')]).toBeCloseTo(1.25, 12);
    expect(itemKnnRanker(items, rsplit, { recent: 5 }, 3)('r')).toEqual(['Y', 'T', 'X']);
    // a window of 6 takes in O2 (co-occurring with X 3 times: 3/sqrt(4·3)) and X is back ahead of T
    expect(itemKnnRanker(items, rsplit, { recent: 6 }, 3)('r')).toEqual(['Y', 'X', 'T']);
  });
});

describe('item-kNN baselines in the evaluation', () => {
  // work bound per test user: Σ n_i over the seeds + min(17 training pairs, Σ c_i) + 37 corpus items;
  // c_i (the seeds' users' item counts): A 8, B 11, C 9, D 9, E 6, F 6; every user's Σ c_i is over 17
  // u1 ABC 10+17+37, u2 AB 7+17+37, u3 BCD 10+17+37, u4 CDE 8+17+37, u5 DEF 7+17+37, u6 ABF 9+17+37
  const bound = 64 + 61 + 64 + 62 + 61 + 63;

  it('bounds the work by hand-computable counts (every training item; the last 5 are the same here)', () => {
    const index = buildCooccurrenceIndex(corpus, split);
    const users = split.test.map((t) => t.user);
    expect(knnWorkBound(index, seedsFor(index, split.train), users)).toBe(bound);
    expect(knnWorkBound(index, seedsFor(index, split.train, { recent: 5 }), users)).toBe(bound);
    // a single seed E: n_E 2 + min(17, c_E 6) + 37
    expect(knnWorkBound(index, () => [{ row: index.rowOf.get('E') as number, weight: 1 }], ['u1'])).toBe(
      2 + 6 + 37,
    );
  });

  it('runs both at the bound, with the metrics of evaluateItemKnn', () => {
    const runs = evaluateKnnBaselines(ds, split, bound);
    expect(runs.map((b) => b.name)).toEqual([ITEM_KNN, ITEM_KNN_RECENT]);
    const [all, recent] = runs;
    if (!all || !('result' in all) || !recent || !('result' in recent))
      throw new Error('a baseline was skipped');
    expect(all.updates).toBe(bound);
    expect(all.result).toEqual(evaluateItemKnn(ds, split));
    expect(recent.result).toEqual(evaluateItemKnn(ds, split, { recent: RECENT_ITEMS, decay: RECENT_DECAY }));
  });

  it('skips both, saying why, one update over the bound', () => {
    const runs = evaluateKnnBaselines(ds, split, bound - 1);
    expect(runs).toEqual([
      {
        name: ITEM_KNN,
        updates: bound,
        skipped: `item-knn skipped: scoring would take up to 3.75e+2 updates, over the bound of 3.74e+2 (MAX_KNN_UPDATES)`,
      },
      {
        name: ITEM_KNN_RECENT,
        updates: bound,
        skipped: `item-knn (last 5) skipped: scoring would take up to 3.75e+2 updates, over the bound of 3.74e+2 (MAX_KNN_UPDATES)`,
      },
    ]);
  });
});
