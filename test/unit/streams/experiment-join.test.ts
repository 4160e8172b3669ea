import { describe, expect, it } from 'vitest';
import type { RecentExposure } from '../../../stores/experiments/recent.js';
import { arrivedLate, type JoinedEvent, joinExposures, joinSpans } from '../../../streams/experiment-join.js';

const MIN = 60_000;
const WINDOW = 30 * MIN;
const T = 1_706_745_600_000;

const exposure = (
  ts: number,
  items: string[],
  arm: RecentExposure['arm'] = 'control',
  experiment = 'exp-a',
): RecentExposure => ({ ts, request_id: `r${ts}-${arm}`, experiment, arm, items });
const event = (offset: number, user: string, item: string, ts: number): JoinedEvent => ({
  offset,
  user_id: user,
  item_id: item,
  ts,
});

describe('joinExposures', () => {
  it('counts an event once per arm the user was exposed to in the window, a hit at its position', () => {
    const exposures = new Map([['u1', [exposure(T, ['a', 'b', 'c'])]]]);
    expect(
      joinExposures([event(7, 'u1', 'c', T + MIN), event(8, 'u1', 'z', T + 2 * MIN)], exposures, WINDOW),
    ).toEqual([
      { offset: 7, experiment: 'exp-a', arm: 'control', user_id: 'u1', ts: T + MIN, position: 3 },
      { offset: 8, experiment: 'exp-a', arm: 'control', user_id: 'u1', ts: T + 2 * MIN, position: 0 },
    ]);
  });

  it('leaves out events before the exposure, past the window, and of users without exposures', () => {
    const exposures = new Map([['u1', [exposure(T, ['a'])]]]);
    const events = [
      event(1, 'u1', 'a', T - 1), // before it was shown
      event(2, 'u1', 'a', T), // at the same millisecond: counts
      event(3, 'u1', 'a', T + WINDOW), // the window's last millisecond: counts
      event(4, 'u1', 'a', T + WINDOW + 1), // one past it
      event(5, 'u2', 'a', T + MIN), // never exposed
    ];
    expect(joinExposures(events, exposures, WINDOW).map((a) => [a.offset, a.position])).toEqual([
      [2, 1],
      [3, 1],
    ]);
  });

  it('takes the position in the newest exposure that holds the item, and one row per arm', () => {
    const exposures = new Map([
      [
        'u1',
        [
          exposure(T, ['x', 'a']), // a at 2
          exposure(T + MIN, ['a', 'y']), // a at 1: newest holding a
          exposure(T + 2 * MIN, ['y', 'z']), // newest, without a
          exposure(T + MIN, ['q', 'r', 'a'], 'candidate', 'exp-b'), // another experiment: its own row
        ],
      ],
    ]);
    const rows = joinExposures([event(9, 'u1', 'a', T + 3 * MIN)], exposures, WINDOW);
    expect(rows.map((r) => [r.experiment, r.arm, r.position])).toEqual([
      ['exp-a', 'control', 1],
      ['exp-b', 'candidate', 3],
    ]);
  });

  it('keeps event order, so the offsets ascend for the fence', () => {
    const exposures = new Map([
      ['u1', [exposure(T, ['a'])]],
      ['u2', [exposure(T, ['b'], 'candidate')]],
    ]);
    const rows = joinExposures(
      [event(10, 'u2', 'b', T + 1), event(11, 'u1', 'x', T + 1), event(12, 'u2', 'q', T + 2)],
      exposures,
      WINDOW,
    );
    expect(rows.map((r) => [r.offset, r.arm, r.position])).toEqual([
      [10, 'candidate', 1],
      [11, 'control', 0],
      [12, 'candidate', 0],
    ]);
  });
});

describe('joinSpans', () => {
  it('gives each user their latest event and the exposure times back by the window', () => {
    const events = [event(1, 'u1', 'a', T + 5 * MIN), event(2, 'u2', 'a', T), event(3, 'u1', 'a', T + MIN)];
    expect(joinSpans(events, WINDOW)).toEqual(
      new Map([
        ['u1', { latest: T + 5 * MIN, from: T + MIN - WINDOW, to: T + 5 * MIN }],
        ['u2', { latest: T, from: T - WINDOW, to: T }],
      ]),
    );
  });
});

describe('arrivedLate', () => {
  it('is late when an event at or after the exposure, within the window, was joined already', () => {
    expect(arrivedLate(T, undefined, WINDOW)).toBe(false);
    expect(arrivedLate(T, T - 1, WINDOW)).toBe(false); // the user's events were all before it
    expect(arrivedLate(T, T, WINDOW)).toBe(true);
    expect(arrivedLate(T, T + WINDOW, WINDOW)).toBe(true);
    expect(arrivedLate(T, T + WINDOW + 1, WINDOW)).toBe(false); // past the window: unknown, not counted
  });
});
