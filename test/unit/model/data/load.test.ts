import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../config/index.js';
import { loadDataset } from '../../../../model/data/load.js';
import { DatasetError, type IdOnlyItems, idOnlyNote } from '../../../../model/data/types.js';
import {
  buildVocabularies,
  DEFAULT_FEATURES,
  detectFields,
  encodeItems,
  itemSideLayout,
} from '../../../../model/features.js';

const fixture = (name: string) => join(projectRoot(), 'test/fixtures/datasets', name);

describe('loadDataset, project format', () => {
  it('reads interactions, items and users with their optional columns', async () => {
    const ds = await loadDataset(fixture('project-valid'));
    expect(ds.name).toBe('project-valid');
    expect(ds.skipped).toEqual([]);
    const key = expect.stringMatching(/^[0-9a-f]{16}$/);
    expect(ds.interactions).toEqual([
      { user: 'u1', item: 'i1', ts: 1700000000, type: 'view', value: undefined, key, row: 0 },
      { user: 'u1', item: 'i2', ts: 1700000100.5, type: 'click', value: 1, key, row: 1 },
      { user: 'u2', item: 'i1', ts: 1700000050, type: 'purchase', value: 19.99, key, row: 2 },
      { user: 'u2', item: 'i3', ts: 1700000060, type: undefined, value: undefined, key, row: 3 },
      { user: '007', item: 'i2', ts: 1700000070, type: 'view', value: undefined, key, row: 4 },
    ]);
    // the key of a row is the first 16 hex chars of sha1 of `user \t item \t ts \t type \t value`
    const sha1 = (text: string) => createHash('sha1').update(text).digest('hex').slice(0, 16);
    expect(ds.interactions[1]?.key).toBe(sha1('u1\ti2\t1700000100.5\tclick\t1'));
    expect(ds.interactions[3]?.key).toBe(sha1('u2\ti3\t1700000060\t\t'));
    expect(ds.idOnly).toBeUndefined();
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

  it('keeps interactions whose item is missing from items.csv: ID-only items, counted', async () => {
    const ds = await loadDataset(fixture('unknown-items'));
    expect(ds.interactions.map((r) => `${r.user}:${r.item}:${r.row}`)).toEqual([
      'u1:i1:0',
      'u1:ghost:1',
      'u2:i1:2',
      'u2:ghost:3',
      'u2:phantom:4',
    ]);
    expect(ds.skipped).toEqual([]);
    expect(ds.idOnly).toEqual({ source: 'items.csv', items: ['ghost', 'phantom'], interactions: 3 });
    // the corpus: items.csv's rows (i2 never interacted with), then the bare items in ID order
    expect([...ds.items.keys()]).toEqual(['i1', 'i2', 'ghost', 'phantom']);
    expect(ds.items.get('ghost')).toEqual({ id: 'ghost', categorical: {}, numeric: {} });
    expect(idOnlyNote(ds.idOnly as IdOnlyItems)).toBe(
      '3 interactions of 2 items not in items.csv: trained as ID-only items',
    );
  });

  it('encodes an ID-only item by its item ID: no category or title, the "missing" row of numeric fields', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'towerflow-idonly-'));
    await writeFile(
      join(dir, 'interactions.csv'),
      'user_id,item_id,timestamp\nu1,i1,1\nu1,ghost,2\nu2,ghost,3\n',
    );
    await writeFile(join(dir, 'items.csv'), 'item_id,category,price,title\ni1,home|garden,12.5,Lamp\n');
    const ds = await loadDataset(dir);
    const features = detectFields(ds, DEFAULT_FEATURES);
    const vocab = buildVocabularies(ds, ds.interactions, features);
    const m = encodeItems([...ds.items.values()], vocab, features);
    const layout = itemSideLayout(vocab, features);
    expect(layout.slots).toEqual(['cat:category', 'num:price', 'text']);
    const slotsOf = (id: string) => {
      const r = m.rowOf.get(id) as number;
      const idx = m.sideIdx.subarray(r * m.sideWidth, (r + 1) * m.sideWidth);
      return layout.slots.map((_, s) => {
        const w = m.sideW.subarray((r * m.slots + s) * m.sideWidth, (r * m.slots + s + 1) * m.sideWidth);
        return [...w].flatMap((x, j) => (x > 0 ? [[idx[j], x]] : []));
      });
    };
    const ghost = m.rowOf.get('ghost') as number;
    expect(m.itemIdx[ghost]).toBe(vocab.items.lookup('ghost'));
    expect(m.itemIdx[ghost]).toBeGreaterThan(0); // its own ID row
    // nothing pooled for category and title; price pools the block's row 0, "missing"
    expect(slotsOf('ghost')).toEqual([[], [[layout.offsets[1], 1]], []]);
    // an item with a profile pools its values
    const i1 = slotsOf('i1');
    expect(i1[0]).toHaveLength(2);
    expect(i1[1]?.[0]?.[0]).toBeGreaterThan(layout.offsets[1] as number);
    expect(i1[2]?.length).toBeGreaterThan(0);
  });

  it('says so in one line for movies.csv too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'towerflow-ml-'));
    await writeFile(
      join(dir, 'ratings.csv'),
      'userId,movieId,rating,timestamp\n1,1,4,10\n1,99,3,11\n2,99,5,12\n',
    );
    await writeFile(join(dir, 'movies.csv'), 'movieId,title,genres\n1,Toy Story (1995),Animation\n');
    const ds = await loadDataset(dir);
    expect(ds.interactions).toHaveLength(3);
    expect(idOnlyNote(ds.idOnly as IdOnlyItems)).toBe(
      '2 interactions of 1 items not in movies.csv: trained as ID-only items',
    );
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
      key: expect.stringMatching(/^[0-9a-f]{16}$/),
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
