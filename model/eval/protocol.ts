import { compareTimeKey } from '../data/order.js';
import type { Dataset, Interaction } from '../data/types.js';

/** The held-out last interaction of one user. */
export interface TestCase {
  user: string;
  item: string;
  ts: number;
  /** The held-out row's key (its place in the time order) and file row (for messages). */
  key: string;
  row: number;
}

export interface LeaveLastOutSplit {
  /** Training rows in the dataset's order (consumers order them by (ts, key) themselves). */
  train: Interaction[];
  /** One case per evaluated user, in user-ID order (code units), so sums never depend on file order. */
  test: TestCase[];
  /** Items each user touched in training (every user with a training row, evaluated or not). */
  trainItemsByUser: Map<string, Set<string>>;
}

/**
 * Leave-last-out by timestamp, as design.md §6. Ties by content key, so file order never
 * matters (the first design said "a stable sort, ties keep file order": docs/decisions.md,
 * 2026-12-07):
 * - per user, rows ordered by (ts, key) (model/data/order.ts; a CSV row's key is a hash of its
 *   content, so rows sharing a timestamp fall in the same order however the file is shuffled,
 *   and in the order the online sequence gives their replayed events);
 * - the last row is the test item;
 * - users with fewer than two distinct items are not evaluated (their rows all stay in training);
 * - every training row of an evaluated user whose item equals the test item is dropped, so the
 *   test item is never among the items excluded from that user's ranking, nor seen with them.
 */
export function leaveLastOut(ds: Dataset): LeaveLastOutSplit {
  const rows = ds.interactions;
  const positionsByUser = new Map<string, number[]>();
  rows.forEach((r, position) => {
    const positions = positionsByUser.get(r.user);
    if (positions === undefined) positionsByUser.set(r.user, [position]);
    else positions.push(position);
  });

  const keep = new Uint8Array(rows.length).fill(1);
  const test: TestCase[] = [];
  for (const user of [...positionsByUser.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const positions = positionsByUser.get(user) as number[];
    const distinct = new Set(positions.map((p) => (rows[p] as Interaction).item));
    if (distinct.size < 2) continue;
    let last = positions[0] as number;
    for (const p of positions)
      if (compareTimeKey(rows[p] as Interaction, rows[last] as Interaction) > 0) last = p;
    const held = rows[last] as Interaction;
    test.push({ user, item: held.item, ts: held.ts, key: held.key, row: held.row });
    for (const p of positions) if ((rows[p] as Interaction).item === held.item) keep[p] = 0;
  }

  const train = rows.filter((_, position) => keep[position] === 1);
  const trainItemsByUser = new Map<string, Set<string>>();
  for (const r of train) {
    const items = trainItemsByUser.get(r.user);
    if (items === undefined) trainItemsByUser.set(r.user, new Set([r.item]));
    else items.add(r.item);
  }
  return { train, test, trainItemsByUser };
}

export interface ProtocolStats {
  interactions: number;
  users: number;
  /** Items of the corpus (ds.items). */
  items: number;
  /** Distinct items with at least one interaction. */
  interactedItems: number;
  testUsers: number;
  /** Users with fewer than two distinct items, kept for training only. */
  skippedUsers: number;
  trainInteractions: number;
  /** Earlier training rows repeating a user's test item, dropped by the protocol. */
  droppedRepeats: number;
  trainItems: number;
}

export function protocolStats(ds: Dataset, split: LeaveLastOutSplit): ProtocolStats {
  const users = new Set<string>();
  const interacted = new Set<string>();
  for (const r of ds.interactions) {
    users.add(r.user);
    interacted.add(r.item);
  }
  const trainItems = new Set<string>();
  for (const r of split.train) trainItems.add(r.item);
  return {
    interactions: ds.interactions.length,
    users: users.size,
    items: ds.items.size,
    interactedItems: interacted.size,
    testUsers: split.test.length,
    skippedUsers: users.size - split.test.length,
    trainInteractions: split.train.length,
    droppedRepeats: ds.interactions.length - split.train.length - split.test.length,
    trainItems: trainItems.size,
  };
}
