import { describe, expect, it } from 'vitest';
import { assertEvents, EmptyWindowError, isDay, readWindow, windowRange } from '../../../batch/window.js';
import { leaveLastOut } from '../../../model/eval/protocol.js';
import { byUserInTimeOrder } from '../../../model/samples.js';
import { ExitCode } from '../../../runtime/exit-codes.js';
import type { HistoryEvent, HistoryStore } from '../../../stores/history/index.js';
import { compareEvents } from '../../../stores/order.js';
import type { ItemState, ProfileStore } from '../../../stores/profiles/index.js';

// The daily job's window: its interactions are keyed by event id, so the offline (ts, key) order
// is the online (ts, event_id) order; events on items without a profile are kept, ID-only.

const T = 1_700_000_000_000;
const events: HistoryEvent[] = [
  // u1: three events at T + 1000, ids whose code-unit order is not their numeric order
  { event_id: 'ds-9', user_id: 'u1', item_id: 'a', type: 'view', ts: T + 1000 },
  { event_id: 'ds-10', user_id: 'u1', item_id: 'b', type: 'view', ts: T + 1000 },
  { event_id: 'ds-100', user_id: 'u1', item_id: 'nope', type: 'click', ts: T + 1000, value: 2 },
  { event_id: 'ds-1', user_id: 'u1', item_id: 'c', type: 'view', ts: T },
  // u2: a tie with the same event id as one of u1's (ids are producer-chosen)
  { event_id: 'ds-10', user_id: 'u2', item_id: 'c', type: 'view', ts: T + 1000 },
  { event_id: 'ds-2', user_id: 'u2', item_id: 'a', type: 'view', ts: T + 1000 },
  { event_id: 'ds-3', user_id: 'u2', item_id: 'gone', type: 'view', ts: T + 500 },
];

const item = (item_id: string, removed = false): ItemState => ({
  item_id,
  ts: T,
  event_id: `item-${item_id}`,
  removed,
  features: removed ? {} : { genre: ['x'] },
});

function stores(order: HistoryEvent[]) {
  const history = { collectTime: async () => order } as unknown as HistoryStore;
  const profiles = {
    async *scanItems() {
      for (const it of [item('a'), item('b'), item('c'), item('gone', true)]) yield it;
    },
    async *scanUsers() {},
  } as unknown as ProfileStore;
  return { history, profiles };
}

describe('readWindow', () => {
  it('keys interactions by event id and orders them as the online sequence does', async () => {
    const { history, profiles } = stores(events);
    const { ds } = await readWindow(history, profiles, { from: 0, to: T * 2 }, 'w');
    for (const x of ds.interactions) expect(x.key).toMatch(/^ds-/);
    const offline = byUserInTimeOrder(ds.interactions);
    for (const [user, xs] of offline) {
      const online = events
        .filter((e) => e.user_id === user && e.item_id !== 'gone')
        .sort(compareEvents)
        .map((e) => e.item_id);
      expect(xs.map((x) => x.item)).toEqual(online);
    }
    expect(offline.get('u1')?.map((x) => x.key)).toEqual(['ds-1', 'ds-10', 'ds-100', 'ds-9']);
    // the last of u1 by (ts, event_id) is the event 'ds-9' on item a
    expect(leaveLastOut(ds).test.find((t) => t.user === 'u1')).toMatchObject({ item: 'a', key: 'ds-9' });
  });

  it('gives the same dataset whatever order the store returns', async () => {
    const a = await readWindow(stores(events).history, stores(events).profiles, { from: 0, to: T * 2 }, 'w');
    const reversed = [...events].reverse();
    const b = await readWindow(
      stores(reversed).history,
      stores(reversed).profiles,
      { from: 0, to: T * 2 },
      'w',
    );
    expect(b.ds).toEqual(a.ds);
    expect([...b.ds.users.keys()]).toEqual([...a.ds.users.keys()]);
    expect([...b.ds.items.keys()]).toEqual([...a.ds.items.keys()]);
    expect(b.ds.interactions.map((x) => x.row)).toEqual(a.ds.interactions.map((x) => x.row));
  });

  it('keeps events on items without a profile as ID-only items, and drops removed items', async () => {
    const { history, profiles } = stores(events);
    const { ds, stats } = await readWindow(history, profiles, { from: 0, to: T * 2 }, 'w');
    expect(ds.interactions).toHaveLength(6);
    expect(ds.items.get('nope')).toEqual({ id: 'nope', categorical: {}, numeric: {} });
    expect(ds.items.has('gone')).toBe(false);
    expect(ds.idOnly).toEqual({ source: 'item profiles', items: ['nope'], interactions: 1 });
    expect(stats).toMatchObject({
      events: 6,
      itemsWithoutProfile: 1,
      eventsWithoutProfile: 1,
      removedItems: 1,
    });
  });
});

describe('windowRange', () => {
  it('takes the days ending with --date, inclusive, and rejects bad dates', () => {
    expect(windowRange('2024-01-31', 2)).toEqual({
      from: Date.parse('2024-01-30T00:00:00Z'),
      to: Date.parse('2024-02-01T00:00:00Z'),
    });
    expect(() => windowRange('31/01/2024', 1)).toThrow(/YYYY-MM-DD/);
    expect(() => windowRange('2024-01-31', 0)).toThrow(/positive/);
  });
});

describe('an empty window', () => {
  it('is refused with the window it looked at and the options that move it', async () => {
    const range = windowRange('2001-01-07', 7);
    const { stats } = await readWindow(stores([]).history, stores([]).profiles, range, 'w');
    let thrown: unknown;
    try {
      assertEvents(stats, range);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(EmptyWindowError);
    const e = thrown as EmptyWindowError;
    expect(e.cause).toBe(
      'no behaviour events in the window 2001-01-01 .. 2001-01-07 (7 days, UTC); nothing published',
    );
    expect(e.fix).toMatch(/--date YYYY-MM-DD.*--window-days/);
    expect(e.exitCode).toBe(ExitCode.REFUSED);
  });

  it('passes a window with events', async () => {
    const range = { from: 0, to: T * 2 };
    const { stats } = await readWindow(stores(events).history, stores(events).profiles, range, 'w');
    expect(() => assertEvents(stats, range)).not.toThrow();
  });
});

describe('isDay', () => {
  it('accepts real days only', () => {
    expect(['2024-02-29', '2001-01-07'].map(isDay)).toEqual([true, true]);
    expect(['2023-02-29', '2024-02-30', '2024-13-01', '31/01/2024', '2024-1-7', ''].map(isDay)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
