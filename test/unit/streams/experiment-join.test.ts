import { describe, expect, it } from 'vitest';
import { type Attribution, countDeltas } from '../../../stores/experiments/index.js';
import type { JoinExposure, UserJoinState } from '../../../stores/experiments/join-state.js';
import {
  addEvent,
  addExposure,
  type JoinRecord,
  type JoinSettings,
  joinBatch,
  seenLater,
} from '../../../streams/experiment-join.js';

const MIN = 60_000;
const WINDOW = 30 * MIN;
const T = 1_706_745_600_000;
const S: JoinSettings = { windowMs: WINDOW, exposuresPerUser: 20, eventsPerUser: 50, items: 100 };

const exposure = (
  ts: number,
  items: string[],
  arm: JoinExposure['arm'] = 'control',
  experiment = 'exp-a',
  request_id = `r${ts}-${arm}-${experiment}`,
): JoinExposure => ({ ts, request_id, experiment, arm, items });
let seq = 0;
const x = (offset: number, user: string, e: JoinExposure): JoinRecord => ({
  kind: 'exposure',
  offset,
  user_id: user,
  exposure: e,
});
const ev = (offset: number, user: string, item: string, ts: number, event_id = `ev${seq++}`): JoinRecord => ({
  kind: 'event',
  offset,
  user_id: user,
  event: { ts, event_id, item_id: item },
});
const none = new Map<string, UserJoinState>();
const brief = (rows: Attribution[]) => rows.map((r) => [r.offset, r.arm, r.position, r.before]);

describe('the join, exposures first (in order)', () => {
  it('counts an event once per arm the user was exposed to in the window, a hit at its position', () => {
    const out = joinBatch(
      [x(1, 'u1', exposure(T, ['a', 'b', 'c'])), ev(7, 'u1', 'c', T + MIN), ev(8, 'u1', 'z', T + 2 * MIN)],
      none,
      S,
    );
    expect(out.rows).toEqual([
      { offset: 7, experiment: 'exp-a', arm: 'control', user_id: 'u1', ts: T + MIN, position: 3 },
      { offset: 8, experiment: 'exp-a', arm: 'control', user_id: 'u1', ts: T + 2 * MIN, position: 0 },
    ]);
    expect(out.kept.map((k) => [k.exposure.request_id, k.late])).toEqual([[`r${T}-control-exp-a`, false]]);
  });

  it('leaves out events before the exposure, past the window, and of users without exposures', () => {
    const out = joinBatch(
      [
        x(0, 'u1', exposure(T, ['a'])),
        ev(1, 'u1', 'a', T - 1), // before it was shown
        ev(2, 'u1', 'a', T), // at the same millisecond: counts
        ev(3, 'u1', 'a', T + WINDOW), // the window's last millisecond: counts
        ev(4, 'u1', 'a', T + WINDOW + 1), // one past it
        ev(5, 'u2', 'a', T + MIN), // never exposed
      ],
      none,
      S,
    );
    expect(out.rows.map((a) => [a.offset, a.position])).toEqual([
      [2, 1],
      [3, 1],
    ]);
  });

  it('takes the position in the newest exposure that holds the item, and one row per arm', () => {
    const out = joinBatch(
      [
        x(1, 'u1', exposure(T, ['x', 'a'])), // a at 2
        x(2, 'u1', exposure(T + MIN, ['a', 'y'])), // a at 1: newest holding a
        x(3, 'u1', exposure(T + 2 * MIN, ['y', 'z'])), // newest, without a
        x(4, 'u1', exposure(T + MIN, ['q', 'r', 'a'], 'candidate', 'exp-b')), // another experiment: its own row
        ev(9, 'u1', 'a', T + 3 * MIN),
      ],
      none,
      S,
    );
    expect(out.rows.map((r) => [r.experiment, r.arm, r.position])).toEqual([
      ['exp-a', 'control', 1],
      ['exp-b', 'candidate', 3],
    ]);
  });

  it('breaks a tie in time by the smaller request id', () => {
    expect(seenLater({ ts: 2, request_id: 'b' }, { ts: 1, request_id: 'a' })).toBe(true);
    expect(seenLater({ ts: 1, request_id: 'a' }, { ts: 1, request_id: 'b' })).toBe(true);
    expect(seenLater({ ts: 1, request_id: 'b' }, { ts: 1, request_id: 'a' })).toBe(false);
    const out = joinBatch(
      [
        x(1, 'u1', exposure(T, ['z', 'a'], 'control', 'exp-a', 'r-b')),
        x(2, 'u1', exposure(T, ['a'], 'control', 'exp-a', 'r-a')),
        ev(3, 'u1', 'a', T),
      ],
      none,
      S,
    );
    expect(brief(out.rows)).toEqual([[3, 'control', 1, undefined]]);
  });

  it('keeps record order, so the offsets ascend for the fence', () => {
    const out = joinBatch(
      [
        x(1, 'u1', exposure(T, ['a'])),
        x(2, 'u2', exposure(T, ['b'], 'candidate')),
        ev(10, 'u2', 'b', T + 1),
        ev(11, 'u1', 'x', T + 1),
        ev(12, 'u2', 'q', T + 2),
      ],
      none,
      S,
    );
    expect(brief(out.rows)).toEqual([
      [10, 'candidate', 1, undefined],
      [11, 'control', 0, undefined],
      [12, 'candidate', 0, undefined],
    ]);
  });
});

describe('the join, events first (an exposure that arrives late)', () => {
  it('joins the events of its window that came before it, on its arrival, with the in-order result', () => {
    const out = joinBatch(
      [
        ev(1, 'u1', 'a', T - 1), // before the exposure's time: not its event
        ev(2, 'u1', 'b', T), // the same millisecond: its event
        ev(3, 'u1', 'z', T + MIN), // a miss
        ev(4, 'u1', 'a', T + WINDOW), // the window's last millisecond
        x(20, 'u1', exposure(T, ['a', 'b'])),
        x(21, 'u1', exposure(T - 1, ['a'], 'candidate')), // T + WINDOW is one past its window
      ],
      none,
      S,
    );
    expect(out.rows.map((r) => [r.offset, r.arm, r.ts - T, r.position, r.before])).toEqual([
      [20, 'control', 0, 2, undefined],
      [20, 'control', MIN, 0, undefined],
      [20, 'control', WINDOW, 1, undefined],
      [21, 'candidate', -1, 1, undefined],
      [21, 'candidate', 0, 0, undefined],
      [21, 'candidate', MIN, 0, undefined],
    ]);
    expect(out.kept.map((k) => k.late)).toEqual([true, true]);
    // the same records, exposures first: the same rows, made by the events
    const inOrder = joinBatch(
      [
        x(20, 'u1', exposure(T, ['a', 'b'])),
        x(21, 'u1', exposure(T - 1, ['a'], 'candidate')),
        ev(1, 'u1', 'a', T - 1),
        ev(2, 'u1', 'b', T),
        ev(3, 'u1', 'z', T + MIN),
        ev(4, 'u1', 'a', T + WINDOW),
      ],
      none,
      S,
    );
    const key = (r: Attribution) => `${r.arm} ${r.ts} ${r.position}`;
    expect(inOrder.rows.map(key).sort()).toEqual(out.rows.map(key).sort());
  });

  it('counts each event once per arm however many exposures of the arm come late; other arms apart', () => {
    const out = joinBatch(
      [
        ev(1, 'u1', 'z', T + 5 * MIN),
        x(2, 'u1', exposure(T, ['a'])),
        x(3, 'u1', exposure(T + MIN, ['b'])), // same arm, no hit: nothing more
        x(4, 'u1', exposure(T + MIN, ['c'], 'candidate')), // another arm: its own row
      ],
      none,
      S,
    );
    expect(brief(out.rows)).toEqual([
      [2, 'control', 0, undefined],
      [4, 'candidate', 0, undefined],
    ]);
    expect(out.kept.map((k) => k.late)).toEqual([true, true, true]);
  });

  it('turns a miss into a hit, and moves a hit to the exposure seen later, never to one seen earlier', () => {
    const rows = (records: JoinRecord[]) => brief(joinBatch(records, none, S).rows);
    // a miss, then an exposure holding the item
    expect(
      rows([
        ev(1, 'u1', 'a', T + 5 * MIN),
        x(2, 'u1', exposure(T, ['z'])),
        x(3, 'u1', exposure(T + MIN, ['q', 'a'])),
      ]),
    ).toEqual([
      [2, 'control', 0, undefined],
      [3, 'control', 2, 0],
    ]);
    // a hit at 1, then a later exposure with the item at 3: the hit moves
    expect(
      rows([
        ev(1, 'u1', 'a', T + 5 * MIN),
        x(2, 'u1', exposure(T, ['a'])),
        x(3, 'u1', exposure(T + MIN, ['q', 'r', 'a'])),
      ]),
    ).toEqual([
      [2, 'control', 1, undefined],
      [3, 'control', 3, 1],
    ]);
    // the later exposure first, then an earlier one: nothing moves
    expect(
      rows([
        ev(1, 'u1', 'a', T + 5 * MIN),
        x(2, 'u1', exposure(T + MIN, ['q', 'r', 'a'])),
        x(3, 'u1', exposure(T, ['a'])),
      ]),
    ).toEqual([[2, 'control', 3, undefined]]);
    // an event that came between an earlier and a later exposure: counted, then moved
    expect(
      rows([
        x(1, 'u1', exposure(T, ['a'])),
        ev(2, 'u1', 'a', T + 5 * MIN),
        x(3, 'u1', exposure(T + MIN, ['q', 'a'])),
      ]),
    ).toEqual([
      [2, 'control', 1, undefined],
      [3, 'control', 2, 1],
    ]);
    // the same position again: no row
    expect(
      rows([
        ev(1, 'u1', 'a', T + 5 * MIN),
        x(2, 'u1', exposure(T, ['a'])),
        x(3, 'u1', exposure(T + MIN, ['a'])),
      ]),
    ).toEqual([[2, 'control', 1, undefined]]);
  });

  it('an exposure with no event of its window is not late', () => {
    const out = joinBatch([ev(1, 'u1', 'a', T - 1), x(2, 'u1', exposure(T, ['a']))], none, S);
    expect(out.rows).toEqual([]);
    expect(out.kept.map((k) => k.late)).toEqual([false]);
  });
});

describe('the join: copies, bounds, the state as read', () => {
  it('counts a copy of an event or an exposure (the same id again) nothing', () => {
    const out = joinBatch(
      [
        x(1, 'u1', exposure(T, ['a'])),
        ev(2, 'u1', 'a', T + 1, 'e-1'),
        ev(3, 'u1', 'a', T + 1, 'e-1'),
        x(4, 'u1', exposure(T, ['a'])),
      ],
      none,
      S,
    );
    expect(brief(out.rows)).toEqual([[2, 'control', 1, undefined]]);
    expect(out.kept).toHaveLength(1);
    // and across batches, from the state the first one left
    const again = joinBatch([ev(9, 'u1', 'a', T + 1, 'e-1'), x(10, 'u1', exposure(T, ['a']))], out.states, S);
    expect(again.rows).toEqual([]);
    expect(again.kept).toEqual([]);
  });

  it('keeps each side bounded: the window before the newest exposure, and at most so many', () => {
    const small = { ...S, exposuresPerUser: 2, eventsPerUser: 3, items: 2 };
    const state: UserJoinState = { exposures: [], events: [] };
    const times = (list: { ts: number }[]) => list.map((e) => e.ts - T);
    // events with no exposure yet: only the newest so many (an exposure may still come for each)
    for (const [i, ts] of [T, T + 1, T + 2, T + 3].entries())
      addEvent(state, 10 + i, 'u1', { ts, event_id: `t${i}`, item_id: 'a' }, small);
    expect(times(state.events)).toEqual([1, 2, 3]);
    addEvent(state, 14, 'u1', { ts: T + 3 * WINDOW, event_id: 't4', item_id: 'a' }, small); // a window on: still kept
    expect(times(state.events)).toEqual([2, 3, 3 * WINDOW]);
    for (const [i, ts] of [T, T + MIN, T + 2 * MIN].entries())
      addExposure(state, i, 'u1', exposure(ts, ['a', 'b', 'c']), small);
    expect(state.exposures.map((e) => [e.ts - T, e.items])).toEqual([
      [MIN, ['a', 'b']],
      [2 * MIN, ['a', 'b']],
    ]);
    expect(times(state.events)).toEqual([2, 3, 3 * WINDOW]); // not a window before the newest exposure
    addExposure(state, 5, 'u1', exposure(T + 2 * MIN + WINDOW + 1, ['a']), small);
    expect(times(state.exposures)).toEqual([2 * MIN + WINDOW + 1]);
    expect(times(state.events)).toEqual([3 * WINDOW]); // no exposure can join the others now
  });

  it('leaves the states it was given as they were', () => {
    const first = joinBatch([x(1, 'u1', exposure(T, ['a'])), ev(2, 'u1', 'z', T + 1)], none, S);
    const snapshot = JSON.stringify([...first.states]);
    joinBatch([x(3, 'u1', exposure(T + 1, ['z']))], first.states, S);
    expect(JSON.stringify([...first.states])).toBe(snapshot);
  });
});

/** Per user and arm: events, hits, and hits per position bucket, as the result store would hold them. */
function totals(rows: readonly Attribution[]): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, n: number) => n !== 0 && out.set(k, (out.get(k) ?? 0) + n);
  for (const r of rows) {
    const d = countDeltas(r);
    const who = `${r.experiment}/${r.arm}/${r.user_id}`;
    add(`${who}/events`, d.events);
    add(`${who}/hits`, d.hits);
    for (const [b, n] of d.positions) add(`${r.experiment}/${r.arm}/p${b}`, n);
  }
  for (const [k, n] of out) if (n === 0) out.delete(k);
  return out;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('an ended experiment: its counts are final', () => {
  // exp-a ended at T + 2 min while exp-b runs on: events from then on are exp-b's only
  const ENDED = new Map([['exp-a', T + 2 * MIN]]);
  const records = {
    exposures: [
      x(1, 'u1', exposure(T, ['a', 'b'])),
      x(2, 'u1', exposure(T, ['b', 'a'], 'candidate', 'exp-b')),
    ],
    events: [
      ev(10, 'u1', 'a', T + MIN), // both ran
      ev(11, 'u1', 'b', T + 2 * MIN - 1), // exp-a's last millisecond
      ev(12, 'u1', 'a', T + 2 * MIN), // exp-a's end: exp-b only
      ev(13, 'u1', 'z', T + 3 * MIN), // after it: exp-b only
    ],
  };
  const rowsOf = (out: { rows: Attribution[] }) =>
    out.rows.map((r) => [r.experiment, r.ts - T, r.position]).sort();
  const expected = [
    ['exp-a', MIN, 1],
    ['exp-a', 2 * MIN - 1, 2],
    ['exp-b', MIN, 2],
    ['exp-b', 2 * MIN - 1, 1],
    ['exp-b', 2 * MIN, 2],
    ['exp-b', 3 * MIN, 0],
  ].sort();

  it('attributes no event at or after its end to it, exposures first', () => {
    const out = joinBatch([...records.exposures, ...records.events], none, S, ENDED);
    expect(rowsOf(out)).toEqual(expected);
    expect(out.states.get('u1')?.events.map((e) => e.claims.map((c) => c.experiment).sort())).toEqual([
      ['exp-a', 'exp-b'],
      ['exp-a', 'exp-b'],
      ['exp-b'],
      ['exp-b'],
    ]);
    // without its end it would have counted them: what the report of an ended experiment kept doing
    expect(rowsOf(joinBatch([...records.exposures, ...records.events], none, S)).length).toBe(8);
  });

  it('nor when its exposure arrives after the events (late), nor when one moves a hit', () => {
    const out = joinBatch([...records.events, ...records.exposures], none, S, ENDED);
    expect(rowsOf(out)).toEqual(expected);
    // a later exposure of exp-a holding the items elsewhere moves only the hits of while it ran
    const state = new Map([['u1', out.states.get('u1') as UserJoinState]]);
    const moved = joinBatch([x(3, 'u1', exposure(T + 1, ['q', 'b', 'a', 'z']))], state, S, ENDED);
    // (the event of its last millisecond keeps its hit at 2; the two after its end get no claim)
    expect(moved.rows.map((r) => [r.experiment, r.ts - T, r.position, r.before])).toEqual([
      ['exp-a', MIN, 3, 1],
    ]);
    expect(moved.states.get('u1')?.events.map((e) => e.claims.length)).toEqual([2, 2, 1, 1]);
  });

  it('an exposure whose events all came after its experiment’s end joins none and is not late', () => {
    const out = joinBatch([ev(1, 'u1', 'a', T + 2 * MIN), x(2, 'u1', exposure(T, ['a']))], none, S, ENDED);
    expect(out.rows).toEqual([]);
    expect(out.kept.map((k) => k.late)).toEqual([false]);
  });
});

describe('the join does not depend on which topic comes first', () => {
  it('gives the in-order counts and claims for any interleaving of the two topics (300 random cases)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
      const users = ['u1', 'u2'];
      const items = ['a', 'b', 'c', 'd'];
      // times within one window (so the bounds never drop what another order would still join), with ties
      const times = [0, 1, 2, 3, 5, 8].map((k) => T + k * MIN);
      const exposures: JoinRecord[] = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) =>
        x(i, pick(users), {
          ts: pick(times),
          request_id: `r${Math.floor(r() * 4)}-${i}`,
          experiment: pick(['exp-a', 'exp-b']),
          arm: pick(['control', 'candidate'] as const),
          items: items.filter(() => r() < 0.5).sort(() => r() - 0.5),
        }),
      );
      const events: JoinRecord[] = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) =>
        ev(100 + i, pick(users), pick(items), pick(times), `e${seed}-${i}`),
      );
      // half the cases with exp-b ended mid-way: an end must not make the order matter either
      const ended = new Map(seed % 2 === 0 ? [['exp-b', pick(times)]] : []);
      const inOrder = joinBatch([...exposures, ...events], none, S, ended);
      // a random merge of the two topics (each keeps its own order), in random batches
      const merged: JoinRecord[] = [];
      const [xs, es] = [[...exposures], [...events]];
      while (xs.length + es.length > 0)
        merged.push((xs.length > 0 && (es.length === 0 || r() < 0.5) ? xs : es).shift() as JoinRecord);
      let states: ReadonlyMap<string, UserJoinState> = none;
      const rows: Attribution[] = [];
      for (let i = 0; i < merged.length; ) {
        const n = 1 + Math.floor(r() * 3);
        const out = joinBatch(merged.slice(i, i + n), states, S, ended);
        states = new Map([...states, ...out.states]);
        rows.push(...out.rows);
        i += n;
      }
      expect([seed, totals(rows)]).toEqual([seed, totals(inOrder.rows)]);
      const claims = (s: ReadonlyMap<string, UserJoinState>) =>
        users.map((u) =>
          (s.get(u)?.events ?? []).map((e) => [
            e.event_id,
            [...e.claims]
              .sort((p, q) => (p.experiment + p.arm < q.experiment + q.arm ? -1 : 1))
              .map((c) => [c.experiment, c.arm, c.position]),
          ]),
        );
      expect([seed, claims(states)]).toEqual([seed, claims(inOrder.states)]);
    }
  });
});
