import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HBaseClient } from '../../../../clients/hbase/thrift2.js';
import { KeyError } from '../../../../clients/keys.js';
import { HBaseHistoryStore } from '../../../../stores/history/hbase.js';
import type { HistoryEvent, HistoryStore } from '../../../../stores/history/index.js';
import { BAD_IDS, cfg, runId, unreachableHBase } from '../support.js';

// The history store's contract (stores/history/index.ts) on the real HBase, in a table of its own.
const table = `test_history_${runId()}`;
const hbase = HBaseClient.fromConfig(cfg);
const store: HistoryStore = new HBaseHistoryStore(hbase, 4, table);

const ev = (user: string, eventId: string, ts: number, item = `i-${eventId}`): HistoryEvent => ({
  event_id: eventId,
  user_id: user,
  item_id: item,
  type: 'click',
  ts,
});
const ids = (events: HistoryEvent[]) => events.map((e) => e.event_id);

describe('history store (HBase)', () => {
  beforeAll(async () => {
    await store.ensure();
    await store.ensure(); // idempotent
  });
  afterAll(async () => {
    await hbase.dropTable(table);
    hbase.close();
  });

  it('reads back what was written: latest N and since T, oldest first; exists per event', async () => {
    const events = [ev('u1', 'c', 3000), ev('u1', 'a', 1000), ev('u1', 'b', 2000), ev('u2', 'z', 1500)];
    expect(await store.exists(events)).toEqual([false, false, false, false]);
    await store.write(events);
    expect(await store.exists([...events, ev('u1', 'missing', 1000)])).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(await store.latest('u1', 10)).toEqual([events[1], events[2], events[0]]);
    expect(ids(await store.latest('u1', 2))).toEqual(['b', 'c']);
    expect(await store.latest('u1', 0)).toEqual([]);
    // since is inclusive
    expect(ids(await store.since('u1', 2000))).toEqual(['b', 'c']);
    expect(ids(await store.since('u1', 0))).toEqual(['a', 'b', 'c']);
    expect(await store.latest('nobody', 5)).toEqual([]);
  });

  it("keeps users apart, also when one id is a prefix of another's", async () => {
    await store.write([ev('p', 'p1', 10), ev('p1', 'q1', 11), ev('p.x', 'r1', 12)]);
    expect(ids(await store.latest('p', 10))).toEqual(['p1']);
    expect(ids(await store.since('p', 0))).toEqual(['p1']);
    expect(ids(await store.latest('p1', 10))).toEqual(['q1']);
  });

  it('writing the same event again changes nothing', async () => {
    const e = ev('idem', 'once', 500, 'first');
    await store.write([e]);
    await store.write([e, e]);
    expect(await store.latest('idem', 10)).toEqual([e]);
    // the same event id at another time is another event
    await store.write([{ ...e, ts: 600 }]);
    expect((await store.latest('idem', 10)).map((x) => x.ts)).toEqual([500, 600]);
  });

  it('orders a tie in time by event id, also where the latest N cut through it', async () => {
    const tie = ['t3', 't1', 't4', 't2'].map((id) => ev('ties', id, 7000));
    await store.write([ev('ties', 'old', 6000), ...tie, ev('ties', 'new', 8000)]);
    expect(ids(await store.latest('ties', 10))).toEqual(['old', 't1', 't2', 't3', 't4', 'new']);
    expect(ids(await store.latest('ties', 3))).toEqual(['t3', 't4', 'new']);
    expect(ids(await store.since('ties', 7000))).toEqual(['t1', 't2', 't3', 't4', 'new']);
  });

  it('scans a time range [from, to) over every user and salt bucket', async () => {
    const base = 9_000_000;
    const inRange = Array.from({ length: 40 }, (_, i) => ev(`scan${i}`, `s${i}`, base + i));
    const outside = [ev('scan0', 'before', base - 1), ev('scan1', 'at-end', base + 40)];
    await store.write([...inRange, ...outside]);
    const collected = await store.collectTime(base, base + 40, 3);
    expect(ids(collected).sort()).toEqual(ids(inRange).sort());
    const scanned: HistoryEvent[] = [];
    for await (const e of store.scanTime(base, base + 40)) scanned.push(e);
    expect(ids(scanned).sort()).toEqual(ids(inRange).sort());
  });

  it('refuses bad ids with a KeyError before calling HBase', async () => {
    const off = new HBaseHistoryStore(unreachableHBase(), 4, table);
    for (const bad of BAD_IDS) {
      for (const e of [ev(bad, 'e', 1), ev('u', bad, 1)]) {
        await expect(async () => off.write([e])).rejects.toThrow(KeyError);
        await expect(async () => off.exists([e])).rejects.toThrow(KeyError);
      }
      await expect(off.latest(bad, 5)).rejects.toThrow(KeyError);
      await expect(off.since(bad, 0)).rejects.toThrow(KeyError);
    }
    // the unreachable client does fail a valid call: the KeyErrors came first
    await expect(off.latest('valid', 5)).rejects.toThrow(/unreachable/);
  });
});
