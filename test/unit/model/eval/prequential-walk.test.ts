import { describe, expect, it } from 'vitest';
import type { Interaction } from '../../../../model/data/types.js';
import {
  hitRates,
  markCurve,
  newTally,
  rankWindow,
  recordUpdates,
  type UserState,
  updateSummary,
  userSigns,
  type WalkState,
  windowUpdates,
} from '../../../../model/eval/prequential-walk.js';
import type { UpdateResult } from '../../../../model/incremental.js';

const N = 60;
const ids = Array.from({ length: N }, (_, i) => `i${i}`);
const rowOf = new Map(ids.map((id, i) => [id, i]));

function user(items: string[], known = true): UserState {
  return {
    hist: items.map((_, j) => ({ itemIdx: j + 1, ts: 100 + j })),
    items: [...items],
    seen: new Set(items.map((i) => rowOf.get(i) ?? -1)),
    cat: [],
    profile: { genre: 'x' },
    known,
  };
}

const ev = (u: string, item: string, ts: number): Interaction => ({
  user: u,
  item,
  ts,
  key: `${u}-${ts}`,
  row: ts,
});

/** Scores that rank item `first` first and then descending by row, for each event in order. */
function scoresRanking(firsts: number[]): Float32Array {
  const s = new Float32Array(firsts.length * N);
  firsts.forEach((f, k) => {
    for (let i = 0; i < N; i++) s[k * N + i] = N - i;
    s[k * N + f] = 2 * N;
  });
  return s;
}

describe('prequential walk: ranking one window', () => {
  it('counts a repeat without scoring it, excludes seen items, and an event is seen from then on', () => {
    const users = new Map([['u', user(['i0'])]]);
    const tally = newTally(10);
    // i0 is seen (a repeat); i5 is new, then repeated within the window
    const events = [ev('u', 'i0', 1), ev('u', 'i5', 2), ev('u', 'i5', 3)];
    const s = scoresRanking([0, 0, 0]);
    rankWindow(events, users, { baseline: s, incremental: s }, { ids, rowOf }, new Set(ids), tally);
    expect(tally.repeats).toBe(2);
    expect(tally.evaluated).toBe(1);
    // i0 excluded: i5 (row 5) ranks 5th (i1..i4 before it)
    expect(tally.arms.baseline.result().metrics['HR@10']).toBe(1);
    expect(tally.arms.baseline.result().metrics['NDCG@10']).toBeCloseTo(1 / Math.log2(4 + 2), 12);
    expect(users.get('u')?.seen.has(5)).toBe(true);
  });

  it('tallies per arm, new users and cold items, and each user by incremental-minus-baseline hits@50', () => {
    const users = new Map([
      ['old', user([])],
      ['new', user([], false)],
      ['tie', user([])],
    ]);
    const tally = newTally(10);
    const events = [ev('old', 'i55', 1), ev('new', 'i3', 2), ev('tie', 'i57', 3)];
    // baseline: i55 at rank 55 (a miss), i3 first, i57 at rank 57; incremental: i55 first, i3 at rank 3, i57 at 57
    const baseline = scoresRanking([0, 3, 0]);
    const incremental = scoresRanking([55, 0, 0]);
    const trained = new Set(ids.filter((i) => i !== 'i3'));
    rankWindow(events, users, { baseline, incremental }, { ids, rowOf }, trained, tally);
    expect(tally.evaluated).toBe(3);
    expect(tally.newUserEvents).toBe(1);
    expect(tally.coldItemEvents).toBe(1);
    expect(tally.hits50).toEqual({ baseline: 1, incremental: 2 });
    expect(tally.userGain).toEqual(
      new Map([
        ['old', 1],
        ['new', 0],
        ['tie', 0],
      ]),
    );
    expect(tally.newArms.baseline.result()).toEqual({
      users: 1,
      metrics: expect.objectContaining({ 'HR@10': 1 }),
    });
    expect(tally.newArms.incremental.result().metrics['NDCG@10']).toBeCloseTo(1 / Math.log2(3 + 2), 12);
    expect(hitRates(tally)).toEqual({ baseline: 1 / 3, incremental: 2 / 3 });
  });
});

describe('prequential walk: the window update', () => {
  it('batches one update per user in first-appearance order, with the history before the window', () => {
    const a = user(['i1', 'i2', 'i3']);
    const b = user([]);
    // the window's features already moved the histories: a got i7 and i8, b got i9
    for (const [st, item, ts] of [
      [a, 'i7', 200],
      [b, 'i9', 201],
      [a, 'i8', 202],
    ] as const) {
      st.hist.push({ itemIdx: 0, ts });
      st.items.push(item);
    }
    const row = new Float32Array([1, 2]);
    const state: WalkState = {
      users: new Map([
        ['a', a],
        ['b', b],
      ]),
      moved: new Map([['a', row]]),
    };
    const events = [ev('a', 'i7', 200), ev('b', 'i9', 201), ev('a', 'i8', 202)];
    const firstLen = new Map([
      ['a', 3],
      ['b', 0],
    ]);
    const { batch, order } = windowUpdates(events, state, firstLen, 2);
    expect(order).toEqual(['a', 'b']);
    expect(batch).toEqual([
      {
        userId: 'a',
        idRow: row,
        profile: { genre: 'x' },
        // the last seqLen = 2 items before the window
        history: [
          { itemId: 'i2', ts: 101 },
          { itemId: 'i3', ts: 102 },
        ],
        events: [
          { itemId: 'i7', ts: 200 },
          { itemId: 'i8', ts: 202 },
        ],
      },
      {
        userId: 'b',
        idRow: undefined,
        profile: { genre: 'x' },
        history: [],
        events: [{ itemId: 'i9', ts: 201 }],
      },
    ]);
  });

  it('keeps the new rows by user and sums the step statistics over row steps', () => {
    const tally = newTally(10);
    const moved = new Map<string, Float32Array>();
    const stats = (
      meanStepNorm: number,
      steps: number,
      activeUsers: number,
      clipped: number,
      projected: number,
    ) => ({ meanStepNorm, steps, activeUsers, clipped, projected }) as UpdateResult['stats'];
    const r1 = [new Float32Array([1]), new Float32Array([2])];
    recordUpdates(tally, moved, ['a', 'b'], { rows: r1, stats: stats(0.5, 2, 2, 1, 0) });
    const r2 = [new Float32Array([3])];
    recordUpdates(tally, moved, ['a'], { rows: r2, stats: stats(2, 1, 1, 0, 1) });
    expect(moved).toEqual(
      new Map([
        ['a', r2[0]],
        ['b', r1[1]],
      ]),
    );
    const config = { learningRate: 0.1 } as Parameters<typeof updateSummary>[3];
    expect(updateSummary(tally, 32, 4, config)).toEqual({
      windows: 2,
      window: 32,
      userUpdates: 3,
      // (0.5·2·2 + 2·1·1) / (2·2 + 1·1)
      meanStepNorm: 4 / 5,
      clippedShare: 1 / 5,
      projected: 1,
      maxRowNorm: 4,
      config,
    });
    expect(updateSummary(newTally(1), 1, 0, config)).toMatchObject({ meanStepNorm: 0, clippedShare: 0 });
  });
});

describe('prequential walk: curve and users', () => {
  it('marks a curve point every `total / points` walked events and at the end, never twice at one count', () => {
    const tally = newTally(10, 3); // a point every 4 walked events
    tally.evaluated = 2;
    tally.hits50 = { baseline: 1, incremental: 2 };
    markCurve(tally, 3, 10);
    expect(tally.curve).toEqual([]);
    markCurve(tally, 6, 10);
    expect(tally.curve).toEqual([{ events: 2, baseline: 0.5, incremental: 1 }]);
    expect(tally.nextMark).toBe(8);
    // nothing evaluated since the last point: no point, even past the mark
    markCurve(tally, 9, 10);
    expect(tally.curve).toHaveLength(1);
    tally.evaluated = 4;
    markCurve(tally, 10, 10);
    expect(tally.curve.at(-1)).toEqual({ events: 4, baseline: 0.25, incremental: 0.5 });
  });

  it('counts users by the sign of their gain', () => {
    expect(
      userSigns(
        new Map([
          ['a', 2],
          ['b', -1],
          ['c', 0],
          ['d', 1],
        ]),
      ),
    ).toEqual({ better: 2, worse: 1, same: 1 });
  });
});
