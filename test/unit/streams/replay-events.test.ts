import { describe, expect, it } from 'vitest';
import type { Dataset, Interaction, ItemRecord, UserRecord } from '../../../model/data/types.js';
import { behaviourEvents, datasetTag, featureName, itemEvents, userEvents } from '../../../replay/events.js';
import { behaviourContract, itemContract, userContract } from '../../../schemas/index.js';

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

const interactions: Interaction[] = [
  { user: 'u1', item: 'i1', ts: 1_700_000_100, type: 'click', row: 0 },
  { user: 'u2', item: 'i2', ts: 1_700_000_000, value: 4.5, row: 1 },
  { user: 'u1', item: 'i3', ts: 1_700_000_100, row: 2 },
  { user: 'u3', item: 'i1', ts: 1_700_000_050.25, type: 'purchase', value: 19.99, row: 3 },
  { user: 'u2', item: 'i3', ts: 1_700_000_100, value: 0, row: 4 },
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

  it('orders by timestamp, ties keeping file (row) order', () => {
    expect(behaviourEvents(ds).map((e) => e.event_id)).toEqual([
      'demo-set-1',
      'demo-set-3',
      'demo-set-0',
      'demo-set-2',
      'demo-set-4',
    ]);
  });

  it('keeps row order on ties even when the input is not in row order', () => {
    const reversed = [...interactions].reverse();
    expect(behaviourEvents(ds, reversed).map((e) => e.event_id)).toEqual(
      behaviourEvents(ds).map((e) => e.event_id),
    );
  });

  it('converts seconds to integer milliseconds', () => {
    const byId = new Map(behaviourEvents(ds).map((e) => [e.event_id, e]));
    expect(byId.get('demo-set-0')?.ts).toBe(1_700_000_100_000);
    expect(byId.get('demo-set-3')?.ts).toBe(1_700_000_050_250);
    for (const e of byId.values()) expect(Number.isInteger(e.ts)).toBe(true);
  });

  it('rounds fractional milliseconds to whole ones', () => {
    const fractional = dataset('f', [
      { user: 'u1', item: 'i1', ts: 1.001, row: 0 }, // 1000.9999999999999 ms in floating point
      { user: 'u1', item: 'i1', ts: 1_700_000_000.0004, row: 1 },
      { user: 'u1', item: 'i1', ts: 1_700_000_000.0016, row: 2 },
    ]);
    const events = behaviourEvents(fractional);
    expect(events.map((e) => e.ts)).toEqual([1001, 1_700_000_000_000, 1_700_000_000_002]);
    for (const e of events) expect(behaviourContract.validate({ ...e }).ok).toBe(true);
  });

  it('keeps the given type, else "rating" with a value, else "view"', () => {
    const byId = new Map(behaviourEvents(ds).map((e) => [e.event_id, e]));
    expect(byId.get('demo-set-0')).toEqual({
      event_id: 'demo-set-0',
      user_id: 'u1',
      item_id: 'i1',
      type: 'click',
      ts: 1_700_000_100_000,
    });
    expect(byId.get('demo-set-1')).toMatchObject({ type: 'rating', value: 4.5 });
    expect(byId.get('demo-set-2')?.type).toBe('view');
    expect(byId.get('demo-set-2')).not.toHaveProperty('value');
    expect(byId.get('demo-set-3')).toMatchObject({ type: 'purchase', value: 19.99 });
    expect(byId.get('demo-set-4')).toMatchObject({ type: 'rating', value: 0 });
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
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      const r = userContract.validate(structuredClone(e));
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });
});

describe('contract limits of replayed data', () => {
  it('normalises free-text event types into lowercase words the contract accepts', () => {
    const d = dataset('t', [
      { user: 'u1', item: 'i1', ts: 1, type: 'Add-To-Cart', row: 0 },
      { user: 'u1', item: 'i1', ts: 2, type: '42', row: 1 },
    ]);
    const events = behaviourEvents(d);
    expect(events.map((e) => e.type)).toEqual(['add_to_cart', 'event']);
    for (const e of events) expect(behaviourContract.validate(e).ok).toBe(true);
  });

  it('clips item features to the contract: 64 names, 256-char list values, first name wins', () => {
    const categorical: Record<string, string[]> = { 'Release Year': ['x'.repeat(300)] };
    for (let i = 0; i < 70; i++) categorical[`c${i}`] = ['v'];
    const item: ItemRecord = { id: 'i1', categorical, numeric: { release_year: 1999 } };
    const d = dataset('t', [{ user: 'u1', item: 'i1', ts: 1, row: 0 }], [item]);
    const [e] = itemEvents(d, 0);
    expect(Object.keys(e?.features ?? {})).toHaveLength(64);
    expect(e?.features?.release_year).toEqual(['x'.repeat(256)]);
    expect(itemContract.validate(e).ok).toBe(true);
  });
});
