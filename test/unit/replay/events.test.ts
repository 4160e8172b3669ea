import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../model/data/load.js';
import { seededRandom } from '../../../model/data/random.js';
import type { Dataset, Interaction, ItemRecord, UserRecord } from '../../../model/data/types.js';
import { byUserInTimeOrder } from '../../../model/samples.js';
import type { IngestClient } from '../../../replay/client.js';
import {
  behaviourEventId,
  behaviourEvents,
  datasetTag,
  featureName,
  itemEvents,
  userEvents,
} from '../../../replay/events.js';
import { replay } from '../../../replay/run.js';
import type { BehaviourEvent } from '../../../schemas/behaviour.js';
import { behaviourContract, itemContract, userContract } from '../../../schemas/index.js';
import { compareEvents } from '../../../stores/order.js';

function dataset(
  name: string,
  interactions: Interaction[],
  items: ItemRecord[] = [],
  users: UserRecord[] = [],
): Dataset {
  return {
    name,
    interactions,
    items: new Map(items.map((i) => [i.id, i])),
    users: new Map(users.map((u) => [u.id, u])),
    skipped: [],
  };
}

// keys as the loader gives them would be hashes; here letters, to read the order at a glance
const interactions: Interaction[] = [
  { user: 'u1', item: 'i1', ts: 1_700_000_100, type: 'click', key: 'c', row: 0 },
  { user: 'u2', item: 'i2', ts: 1_700_000_000, value: 4.5, key: 'e', row: 1 },
  { user: 'u1', item: 'i3', ts: 1_700_000_100, key: 'a', row: 2 },
  { user: 'u3', item: 'i1', ts: 1_700_000_050.25, type: 'purchase', value: 19.99, key: 'd', row: 3 },
  { user: 'u2', item: 'i3', ts: 1_700_000_100, value: 0, key: 'b', row: 4 },
];

describe('datasetTag', () => {
  it.each([
    ['MovieLens 100K', 'movielens-100k'],
    ['ml-latest-small', 'ml-latest-small'],
    ['  My/Data: Set!! ', 'my-data-set'],
    ['a_b.c', 'a_b.c'],
    ['***', 'dataset'],
    ['', 'dataset'],
  ])('%j → %j', (name, tag) => {
    expect(datasetTag(name)).toBe(tag);
  });

  it('is at most 40 chars', () => {
    expect(datasetTag('x'.repeat(100))).toBe('x'.repeat(40));
  });
});

describe('featureName', () => {
  it.each([
    ['Release Year', 'release_year'],
    ['genres', 'genres'],
    ['Avg. Rating (IMDb)', 'avg_rating_imdb_'],
    ['2nd language', 'nd_language'],
    ['_private', 'private'],
    ['123', 'f'],
    ['', 'f'],
  ])('%j → %j', (column, name) => {
    expect(featureName(column)).toBe(name);
  });

  it('always yields a valid feature name', () => {
    for (const c of ['Release Year', 'x'.repeat(100), '9', 'Ünïcode', 'a-b-c', 'A'])
      expect(featureName(c)).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
  });
});

describe('behaviourEvents', () => {
  const ds = dataset('Demo Set', interactions);

  it('orders by timestamp, ties by key (never by file row); ids are TAG-KEY', () => {
    expect(behaviourEvents(ds).map((e) => e.event_id)).toEqual([
      'demo-set-e',
      'demo-set-d',
      'demo-set-a',
      'demo-set-b',
      'demo-set-c',
    ]);
  });

  it('gives the same order whatever the input order', () => {
    const reversed = [...interactions].reverse();
    expect(behaviourEvents(ds, reversed).map((e) => e.event_id)).toEqual(
      behaviourEvents(ds).map((e) => e.event_id),
    );
  });

  it('converts seconds to integer milliseconds', () => {
    const byId = new Map(behaviourEvents(ds).map((e) => [e.event_id, e]));
    expect(byId.get('demo-set-c')?.ts).toBe(1_700_000_100_000);
    expect(byId.get('demo-set-d')?.ts).toBe(1_700_000_050_250);
    for (const e of byId.values()) expect(Number.isInteger(e.ts)).toBe(true);
  });

  it('rounds fractional milliseconds to whole ones', () => {
    const fractional = dataset('f', [
      { user: 'u1', item: 'i1', ts: 1.001, key: 'k0', row: 0 }, // 1000.9999999999999 ms in floating point
      { user: 'u1', item: 'i1', ts: 1_700_000_000.0004, key: 'k1', row: 1 },
      { user: 'u1', item: 'i1', ts: 1_700_000_000.0016, key: 'k2', row: 2 },
    ]);
    const events = behaviourEvents(fractional);
    expect(events.map((e) => e.ts)).toEqual([1001, 1_700_000_000_000, 1_700_000_000_002]);
    for (const e of events) expect(behaviourContract.validate({ ...e }).ok).toBe(true);
  });

  it('keeps the given type, else "rating" with a value, else "view"', () => {
    const byId = new Map(behaviourEvents(ds).map((e) => [e.event_id, e]));
    expect(byId.get('demo-set-c')).toEqual({
      event_id: 'demo-set-c',
      user_id: 'u1',
      item_id: 'i1',
      type: 'click',
      ts: 1_700_000_100_000,
    });
    expect(byId.get('demo-set-e')).toMatchObject({ type: 'rating', value: 4.5 });
    expect(byId.get('demo-set-a')?.type).toBe('view');
    expect(byId.get('demo-set-a')).not.toHaveProperty('value');
    expect(byId.get('demo-set-d')).toMatchObject({ type: 'purchase', value: 19.99 });
    expect(byId.get('demo-set-b')).toMatchObject({ type: 'rating', value: 0 });
  });

  it('derives the same event ids on every run', () => {
    const again = dataset(
      'Demo Set',
      interactions.map((x) => ({ ...x })),
    );
    expect(behaviourEvents(again)).toEqual(behaviourEvents(ds));
    expect(new Set(behaviourEvents(ds).map((e) => e.event_id)).size).toBe(interactions.length);
  });

  it('does not reorder the dataset', () => {
    const before = ds.interactions.map((x) => x.row);
    behaviourEvents(ds);
    expect(ds.interactions.map((x) => x.row)).toEqual(before);
  });

  it('produces events the behaviour contract accepts', () => {
    for (const e of behaviourEvents(ds)) {
      const r = behaviourContract.validate({ ...e });
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });
});

describe('itemEvents', () => {
  const items: ItemRecord[] = [
    {
      id: 'i1',
      categorical: { Genres: ['Comedy', 'Drama'], 'Original Language': ['en'] },
      numeric: { 'Release Year': 1995, rating: 7.5 },
      text: 'Heat',
    },
    { id: 'i2', categorical: {}, numeric: {} },
    {
      id: 'i3',
      categorical: { tags: Array.from({ length: 80 }, (_, i) => `t${i}`) },
      numeric: {},
      text: 'T'.repeat(2000),
    },
  ];
  const ds = dataset('Demo Set', [], items);
  const ts = 1_700_000_000_000;

  it('makes one upsert per item with feature names normalised', () => {
    const events = itemEvents(ds, ts);
    expect(events).toHaveLength(3);
    expect(events[0]).toEqual({
      event_id: 'demo-set-item-i1',
      op: 'upsert',
      item_id: 'i1',
      ts,
      features: {
        genres: ['Comedy', 'Drama'],
        original_language: ['en'],
        release_year: 1995,
        rating: 7.5,
        title: 'Heat',
      },
    });
    expect(events[1]).toEqual({
      event_id: 'demo-set-item-i2',
      op: 'upsert',
      item_id: 'i2',
      ts,
      features: {},
    });
  });

  it('truncates lists to 64 values and text to 1024 chars', () => {
    const f = itemEvents(ds, ts)[2]?.features;
    expect(f?.tags).toHaveLength(64);
    expect(f?.title).toHaveLength(1024);
  });

  it('keeps event ids within 128 chars for long item ids', () => {
    const long = dataset('x'.repeat(60), [], [{ id: 'i'.repeat(128), categorical: {}, numeric: {} }]);
    const [e] = itemEvents(long, ts);
    expect(e?.event_id.length).toBe(128);
    expect(itemContract.validate({ ...e }).ok).toBe(true);
  });

  it('produces events the item contract accepts', () => {
    for (const e of itemEvents(ds, ts)) {
      const r = itemContract.validate(structuredClone(e));
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });
});

describe('userEvents', () => {
  const users: UserRecord[] = [
    { id: 'u1', categorical: { Gender: 'F', Age: '25', 'Zip Code': '02139' } },
    { id: 'u2', categorical: {} },
    { id: 'u3', categorical: { occupation: '4' } },
  ];
  const ds = dataset('ml', [], [], users);
  const ts = 5;

  it('makes one profile per user with columns; bare users are skipped', () => {
    expect(userEvents(ds, ts)).toEqual([
      { event_id: 'ml-user-u1', user_id: 'u1', ts, profile: { gender: 'F', age: '25', zip_code: '02139' } },
      { event_id: 'ml-user-u3', user_id: 'u3', ts, profile: { occupation: '4' } },
    ]);
  });

  it('is empty when no user has a profile', () => {
    expect(userEvents(dataset('ml', [], [], [{ id: 'u9', categorical: {} }]), ts)).toEqual([]);
  });

  it('produces events the user contract accepts', () => {
    const events = userEvents(ds, ts);
    // u1 and u3: the users with columns
    expect(events).toHaveLength(2);
    for (const e of events) {
      const r = userContract.validate(structuredClone(e));
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });
});

describe('contract limits of replayed data', () => {
  it('normalises free-text event types into lowercase words the contract accepts', () => {
    const d = dataset('t', [
      { user: 'u1', item: 'i1', ts: 1, type: 'Add-To-Cart', key: 'k0', row: 0 },
      { user: 'u1', item: 'i1', ts: 2, type: '42', key: 'k1', row: 1 },
    ]);
    const events = behaviourEvents(d);
    expect(events.map((e) => e.type)).toEqual(['add_to_cart', 'event']);
    for (const e of events) expect(behaviourContract.validate(e).ok).toBe(true);
  });

  it('clips item features to the contract: 64 names, 256-char list values, first name wins', () => {
    const categorical: Record<string, string[]> = { 'Release Year': ['x'.repeat(300)] };
    for (let i = 0; i < 70; i++) categorical[`c${i}`] = ['v'];
    const item: ItemRecord = { id: 'i1', categorical, numeric: { release_year: 1999 } };
    const d = dataset('t', [{ user: 'u1', item: 'i1', ts: 1, key: 'k0', row: 0 }], [item]);
    const [e] = itemEvents(d, 0);
    expect(Object.keys(e?.features ?? {})).toHaveLength(64);
    expect(e?.features?.release_year).toEqual(['x'.repeat(256)]);
    expect(itemContract.validate(e).ok).toBe(true);
  });
});

// The online sequence orders a user's events by (ts, event_id) (stores/order.ts); the offline
// order is (ts, key) (model/data/order.ts). Replayed ids are `${tag}-${key}`, so they agree.
describe('replayed event ids and the online order', () => {
  const parents: string[] = [];
  afterAll(async () => {
    for (const d of parents) await rm(d, { recursive: true, force: true });
  });

  /** 4 users × 30 rows over 3 timestamps (many ties), some items without an items.csv row. */
  function rows(): string[] {
    const random = seededRandom(5);
    const out: string[] = [];
    for (let u = 0; u < 4; u++)
      for (let k = 0; k < 30; k++)
        out.push(
          `u${u},i${Math.floor(random() * 40)},${1_600_000_000 + 3600 * Math.floor(random() * 3)},view`,
        );
    return out;
  }

  async function write(lines: string[]): Promise<Dataset> {
    const parent = await mkdtemp(join(tmpdir(), 'towerflow-replay-'));
    parents.push(parent);
    const dir = join(parent, 'Tied Set');
    await mkdir(dir);
    await writeFile(
      join(dir, 'interactions.csv'),
      `user_id,item_id,timestamp,event_type\n${lines.join('\n')}\n`,
    );
    // items i0..i35 have a row; i36..i39 do not
    const items = Array.from({ length: 36 }, (_, j) => `i${j},g${j % 3}`);
    await writeFile(join(dir, 'items.csv'), `item_id,genre\n${items.join('\n')}\n`);
    return loadDataset(dir);
  }

  const perUser = (events: BehaviourEvent[]) => {
    const out = new Map<string, BehaviourEvent[]>();
    for (const e of events) out.set(e.user_id, [...(out.get(e.user_id) ?? []), e]);
    return out;
  };

  it('sorted by (ts, event_id) per user, the events give the offline order of items', async () => {
    const ds = await write(rows());
    const offline = byUserInTimeOrder(ds.interactions);
    // as the Redis sequence holds them: whatever the arrival order, sorted by compareEvents
    const online = perUser([...behaviourEvents(ds)].reverse());
    expect(online.size).toBe(4);
    for (const [user, events] of online) {
      expect(events.sort(compareEvents).map((e) => e.item_id)).toEqual(offline.get(user)?.map((x) => x.item));
    }
    // and the ties are real: with row-numbered ids (`tag-10` < `tag-9`) the orders would differ
    const byRowId = ds.interactions.map((x) => ({
      ts: x.ts,
      event_id: `t-${x.row}`,
      user: x.user,
      item: x.item,
    }));
    const differs = [...offline].some(
      ([user, xs]) =>
        byRowId
          .filter((e) => e.user === user)
          .sort(compareEvents)
          .map((e) => e.item)
          .join() !== xs.map((x) => x.item).join(),
    );
    expect(differs).toBe(true);
  });

  it('are the same ids whatever the file order, so a replay of a reshuffled file changes nothing', async () => {
    const lines = rows();
    const random = seededRandom(9);
    const shuffled = [...lines];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
    }
    expect(shuffled).not.toEqual(lines);
    const a = behaviourEvents(await write(lines));
    const b = behaviourEvents(await write(shuffled));
    expect(b).toEqual(a);
    for (const e of a) expect(behaviourContract.validate({ ...e }).ok).toBe(true);
    expect(a[0]?.event_id).toMatch(/^tied-set-[0-9a-f]{16}(\.\d+)?$/);
  });

  it('refuses a key that would make an invalid event id instead of clipping it', () => {
    expect(behaviourEventId('t', 'abc.1')).toBe('t-abc.1');
    expect(() => behaviourEventId('t', 'a b')).toThrow(/no valid event id/);
    expect(() => behaviourEventId('t', 'x'.repeat(128))).toThrow(/no valid event id/);
  });

  it('replay posts every interaction, those on ID-only items counted, and no profile for those items', async () => {
    const ds = await write(rows());
    expect(ds.idOnly?.items).toEqual(expect.arrayContaining(['i36']));
    const posted: Record<string, unknown[]> = { '/v1/events': [], '/v1/items': [], '/v1/users': [] };
    const client = {
      post: async (path: string, events: unknown[]) => {
        posted[path]?.push(...events);
        return events.length;
      },
    } as unknown as IngestClient;
    const r = await replay(ds, client, { batch: 7, concurrency: 3 });
    expect(r.events).toBe(ds.interactions.length);
    expect(posted['/v1/events']).toHaveLength(ds.interactions.length);
    const bare = new Set(ds.idOnly?.items);
    const onBare = ds.interactions.filter((x) => bare.has(x.item));
    expect(onBare.length).toBeGreaterThan(0);
    expect(r.idOnly).toEqual({ events: onBare.length, items: new Set(onBare.map((x) => x.item)).size });
    expect(r.idOnly.events).toBe(ds.idOnly?.interactions);
    const profiled = (posted['/v1/items'] as { item_id: string }[]).map((e) => e.item_id);
    expect(profiled).toHaveLength(36);
    for (const id of bare) expect(profiled).not.toContain(id);
  });
});
