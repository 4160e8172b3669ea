import { describe, expect, it } from 'vitest';
import { compareTimeKey } from '../../../../model/data/order.js';
import { syntheticDataset } from '../../../../model/data/synthetic.js';
import type { Dataset, Interaction } from '../../../../model/data/types.js';
import { leaveLastOut, protocolStats } from '../../../../model/eval/protocol.js';

function dataset(rows: [user: string, item: string, ts: number, key: string][]): Dataset {
  const interactions: Interaction[] = rows.map(([user, item, ts, key], row) => ({
    user,
    item,
    ts,
    key,
    row,
  }));
  return { name: 'hand-made', interactions, items: new Map(), users: new Map(), skipped: [] };
}

// row: user, item, ts, key (ties in ts are ordered by key, never by file row)
const HAND_MADE = dataset([
  ['a', 'X', 1, 'a1'], // 0 train
  ['a', 'Y', 5, 'a5b'], // 1 test of a: ties with row 2 at ts 5, the greater key although first in the file
  ['a', 'Z', 5, 'a5a'], // 2 train
  ['a', 'Y', 2, 'a2'], // 3 dropped: an earlier repeat of a's test item
  ['b', 'Q', 1, 'b1'], // 4 b has a single distinct item: not evaluated, rows stay in train
  ['b', 'Q', 2, 'b2'], // 5
  ['c', 'Y', 3, 'c3b'], // 6 test of c (tie at ts 3, the greater key, earlier in the file)
  ['c', 'X', 3, 'c3a'], // 7 train
  ['c', 'W', 2, 'c2'], // 8 train
  ['d', 'M', 10, 'd10'], // 9 test of d: latest, although earlier in the file
  ['d', 'N', 4, 'd4'], // 10 train
]);

describe('leaveLastOut', () => {
  const split = leaveLastOut(HAND_MADE);

  it('holds out the last row by (timestamp, key) of every user with two or more distinct items', () => {
    expect(split.test).toEqual([
      { user: 'a', item: 'Y', ts: 5, key: 'a5b', row: 1 },
      { user: 'c', item: 'Y', ts: 3, key: 'c3b', row: 6 },
      { user: 'd', item: 'M', ts: 10, key: 'd10', row: 9 },
    ]);
  });

  it("keeps skipped users' rows and drops repeats of the test item, in file order", () => {
    expect(split.train.map((r) => r.row)).toEqual([0, 2, 4, 5, 7, 8, 10]);
  });

  it('gives the same split whatever the file order', () => {
    const reversed = { ...HAND_MADE, interactions: [...HAND_MADE.interactions].reverse() };
    const again = leaveLastOut(reversed);
    expect(again.test).toEqual(split.test); // in user-ID order
    expect(again.train.map((r) => r.row).sort((x, y) => x - y)).toEqual(split.train.map((r) => r.row));
  });

  it('lists training items per user', () => {
    expect(split.trainItemsByUser).toEqual(
      new Map([
        ['a', new Set(['X', 'Z'])],
        ['b', new Set(['Q'])],
        ['c', new Set(['X', 'W'])],
        ['d', new Set(['N'])],
      ]),
    );
  });

  it('counts what it did', () => {
    expect(protocolStats(HAND_MADE, split)).toEqual({
      interactions: 11,
      users: 4,
      items: 0,
      interactedItems: 7,
      testUsers: 3,
      skippedUsers: 1,
      trainInteractions: 7,
      droppedRepeats: 1,
      trainItems: 5, // X, Z, Q, W, N
    });
  });

  it('never leaves a test item among its user’s training items (synthetic data with repeats)', () => {
    const ds = syntheticDataset({ users: 50, items: 30, interactions: 2_000, seed: 3 });
    const { test, trainItemsByUser, train } = leaveLastOut(ds);
    expect(test.length).toBe(50);
    for (const t of test) expect(trainItemsByUser.get(t.user)?.has(t.item)).toBe(false);
    for (const t of test) {
      const later = train.filter((r) => r.user === t.user && compareTimeKey(r, t) > 0);
      expect(later).toEqual([]);
    }
  });
});
