import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../model/data/load.js';
import { DatasetError } from '../../../model/data/types.js';

const fixture = (name: string) => join(import.meta.dirname, '../../fixtures/datasets', name);

describe('loadDataset, project format', () => {
  it('reads interactions, items and users with their optional columns', async () => {
    const ds = await loadDataset(fixture('project-valid'));
    expect(ds.name).toBe('project-valid');
    expect(ds.skipped).toEqual([]);
    expect(ds.interactions).toEqual([
      { user: 'u1', item: 'i1', ts: 1700000000, type: 'view', value: undefined, row: 0 },
      { user: 'u1', item: 'i2', ts: 1700000100.5, type: 'click', value: 1, row: 1 },
      { user: 'u2', item: 'i1', ts: 1700000050, type: 'purchase', value: 19.99, row: 2 },
      { user: 'u2', item: 'i3', ts: 1700000060, type: undefined, value: undefined, row: 3 },
      { user: '007', item: 'i2', ts: 1700000070, type: 'view', value: undefined, row: 4 },
    ]);
  });

  it('types item columns: title is text, all-numeric columns numeric, the rest multi-valued', async () => {
    const ds = await loadDataset(fixture('project-valid'));
    expect([...ds.items.keys()]).toEqual(['i1', 'i2', 'i3', 'i4']);
    expect(ds.items.get('i1')).toEqual({
      id: 'i1',
      text: 'Pots, Pans and "Lids"',
      categorical: { category: ['kitchen', 'home'], code: ['A1'] },
      numeric: { price: 12.5 },
    });
    expect(ds.items.get('i2')).toEqual({
      id: 'i2',
      text: 'Lamp',
      categorical: { category: ['home'], code: ['7'] },
      numeric: {},
    });
    expect(ds.items.get('i3')?.text).toBe('Multi\nline title');
    expect(ds.items.get('i3')?.categorical.category).toEqual(['garden', 'outdoor']);
    expect(ds.items.get('i4')).toEqual({
      id: 'i4',
      text: 'Never bought',
      categorical: { category: [], code: [] },
      numeric: { price: 100 },
    });
  });

  it('reads users.csv and adds bare records for users without a profile; IDs stay strings', async () => {
    const ds = await loadDataset(fixture('project-valid'));
    expect(ds.users.get('u1')).toEqual({ id: 'u1', categorical: { age_bucket: '25-34', region: 'eu' } });
    expect(ds.users.get('u2')).toEqual({ id: 'u2', categorical: { region: 'us' } });
    expect(ds.users.get('007')).toEqual({ id: '007', categorical: {} });
  });

  it('without items.csv or users.csv, the corpus is the interacted items (CRLF file)', async () => {
    const ds = await loadDataset(fixture('project-minimal'));
    expect(ds.interactions.map((r) => [r.user, r.item, r.ts])).toEqual([
      ['u1', 'i1', 1],
      ['u1', 'i2', 2],
      ['u2', 'i2', 3],
    ]);
    expect([...ds.items.keys()]).toEqual(['i1', 'i2']);
    expect([...ds.users.keys()]).toEqual(['u1', 'u2']);
  });

  it('drops and counts interactions whose item is missing from items.csv', async () => {
    const ds = await loadDataset(fixture('unknown-items'));
    expect(ds.interactions.map((r) => `${r.user}:${r.item}:${r.row}`)).toEqual(['u1:i1:0', 'u2:i1:2']);
    expect(ds.skipped).toEqual([
      { reason: 'item not in items.csv', count: 3, example: 'item "ghost" (user "u1", data row 1)' },
    ]);
  });
});

describe('loadDataset, MovieLens layout', () => {
  it('maps ratings and movies: genres, title text, year from the title', async () => {
    const ds = await loadDataset(fixture('movielens-valid'));
    expect(ds.interactions[1]).toEqual({
      user: '1',
      item: '11',
      ts: 964981247,
      type: 'rating',
      value: 3.5,
      row: 1,
    });
    expect(ds.interactions).toHaveLength(4);
    expect(ds.items.get('11')).toEqual({
      id: '11',
      text: 'American President, The (1995)',
      categorical: { genres: ['Comedy', 'Drama', 'Romance'] },
      numeric: { year: 1995 },
    });
    expect(ds.items.get('183')).toEqual({
      id: '183',
      text: 'Babylon 5',
      categorical: { genres: [] },
      numeric: {},
    });
    expect([...ds.users.keys()]).toEqual(['1', '2']);
  });
});

describe('loadDataset, bad input', () => {
  const cases: [string, RegExp][] = [
    [
      'bad-missing-column',
      /interactions\.csv, line 1, field "timestamp": missing required column "timestamp"/,
    ],
    ['bad-items-misnamed-id', /items\.csv, line 1, field "item_id": missing required column "item_id"/],
    [
      'bad-movielens-missing-column',
      /ratings\.csv, line 1, field "rating": missing required column "rating"/,
    ],
    ['bad-timestamp', /interactions\.csv, line 3, field "timestamp": bad timestamp "2023-11-14"/],
    ['bad-timestamp-millis', /interactions\.csv, line 2, field "timestamp": bad timestamp "1700000000000"/],
    ['bad-empty-file', /interactions\.csv: empty file/],
    ['bad-header-only', /interactions\.csv, line 1: no interaction rows/],
    ['bad-duplicate-header', /interactions\.csv, line 1, field "item_id": duplicated column "item_id"/],
    ['bad-field-count', /interactions\.csv, line 3: expected 3 fields \(as in the header\), found 4/],
    ['bad-unknown-column', /interactions\.csv, line 1, field "evnt_type": unexpected column "evnt_type"/],
    ['bad-unterminated-quote', /items\.csv, line 2: unterminated quoted field/],
    ['bad-duplicate-item', /items\.csv, line 4, field "item_id": duplicated ID "i1" \(first on line 2\)/],
  ];
  it.each(cases)('%s', async (name, message) => {
    const load = loadDataset(fixture(name));
    await expect(load).rejects.toThrow(DatasetError);
    await expect(loadDataset(fixture(name))).rejects.toThrow(message);
  });

  it('refuses a folder with neither interactions.csv nor ratings.csv', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'towerflow-empty-'));
    await expect(loadDataset(empty)).rejects.toThrow(/no interactions\.csv .* or ratings\.csv/);
  });
});
