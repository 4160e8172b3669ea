import { describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../../model/data/synthetic.js';
import type { Dataset, Interaction } from '../../../model/data/types.js';
import { leaveLastOut, protocolStats } from '../../../model/eval/protocol.js';

function dataset(rows: [user: string, item: string, ts: number][]): Dataset {
  const interactions: Interaction[] = rows.map(([user, item, ts], row) => ({ user, item, ts, row }));
  return { name: 'hand-made', interactions, items: new Map(), users: new Map(), skipped: [] };
}

// row: user, item, ts
const HAND_MADE = dataset([
  ['a', 'X', 1], // 0 train
  ['a', 'Y', 5], // 1 train: ties with row 2 at ts 5, and comes first in the file
  ['a', 'Z', 5], // 2 test of a (last by (ts, row))
  ['a', 'Z', 2], // 3 dropped: an earlier repeat of a's test item
  ['b', 'Q', 1], // 4 b has a single distinct item: not evaluated, rows stay in train
  ['b', 'Q', 2], // 5
  ['c', 'Y', 3], // 6 train
  ['c', 'X', 3], // 7 test of c (tie at ts 3, later in the file)
  ['c', 'W', 2], // 8 train
  ['d', 'M', 10], // 9 test of d: latest, although earlier in the file
  ['d', 'N', 4], // 10 train
]);

describe('leaveLastOut', () => {
  const split = leaveLastOut(HAND_MADE);

  it('holds out the last row by (timestamp, file row) of every user with two or more distinct items', () => {
    expect(split.test).toEqual([
      { user: 'a', item: 'Z', ts: 5, row: 2 },
      { user: 'c', item: 'X', ts: 3, row: 7 },
      { user: 'd', item: 'M', ts: 10, row: 9 },
    ]);
  });

  it("keeps skipped users' rows and drops repeats of the test item, in file order", () => {
    expect(split.train.map((r) => r.row)).toEqual([0, 1, 4, 5, 6, 8, 10]);
  });

  it('lists training items per user', () => {
    expect(split.trainItemsByUser).toEqual(
      new Map([
        ['a', new Set(['X', 'Y'])],
        ['b', new Set(['Q'])],
        ['c', new Set(['Y', 'W'])],
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
      trainItems: 5, // X, Y, Q, W, N
    });
  });

  it('never leaves a test item among its user’s training items (synthetic data with repeats)', () => {
    const ds = syntheticDataset({ users: 50, items: 30, interactions: 2_000, seed: 3 });
    const { test, trainItemsByUser, train } = leaveLastOut(ds);
    expect(test.length).toBe(50);
    for (const t of test) expect(trainItemsByUser.get(t.user)?.has(t.item)).toBe(false);
    for (const t of test) {
      const later = train.filter(
        (r) => r.user === t.user && (r.ts > t.ts || (r.ts === t.ts && r.row > t.row)),
      );
      expect(later).toEqual([]);
    }
  });
});
