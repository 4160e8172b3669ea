import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContentKeys, canonicalRow, contentHash } from '../../../../model/data/keys.js';
import { loadDataset } from '../../../../model/data/load.js';
import { seededRandom } from '../../../../model/data/random.js';
import type { Dataset } from '../../../../model/data/types.js';
import { leaveLastOut } from '../../../../model/eval/protocol.js';
import {
  buildVocabularies,
  DEFAULT_FEATURES,
  detectFields,
  encodeItems,
  type FeatureConfig,
  type UserInputs,
  userSlots,
} from '../../../../model/features.js';
import { buildQueryInputs, buildTrainingSet, byUserInTimeOrder } from '../../../../model/samples.js';

// Rows that share a timestamp must give the same split and the same sequence features however
// the file is shuffled: a user's rows are ordered by (ts, content key), never by file row.

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Rows of a dataset where most timestamps are shared: 3 distinct values per user, duplicates included. */
function tiedRows(seed: number): string[] {
  const random = seededRandom(seed);
  const rows: string[] = [];
  for (let u = 0; u < 8; u++) {
    for (let k = 0; k < 14; k++) {
      const item = `i${Math.floor(random() * 20)}`;
      const ts = 1_700_000_000 + 86_400 * Math.floor(random() * 3);
      const type = random() < 0.7 ? 'view' : 'click';
      const value = random() < 0.5 ? '' : String(1 + Math.floor(random() * 5));
      rows.push(`u${u},${item},${ts},${type},${value}`);
    }
    // an exact duplicate of the user's first row; two rows on the last day (a tie at the end
    // whatever was drawn), one with numbers written unusually
    rows.push(rows[rows.length - 14] as string);
    rows.push(`u${u},i3,${1_700_000_000 + 86_400 * 2}.0,view,4.50`);
    rows.push(`u${u},i${19 - u},${1_700_000_000 + 86_400 * 2},click,`);
  }
  return rows;
}

function shuffled<T>(values: T[], seed: number): T[] {
  const out = [...values];
  const random = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Writes the rows (and items i0..i18: i19 has no items.csv row) into DIR/name; returns the folder. */
async function writeDataset(rows: string[], name = 'ties'): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'towerflow-ties-'));
  dirs.push(parent);
  const dir = join(parent, name);
  await mkdir(dir);
  await writeFile(
    join(dir, 'interactions.csv'),
    `user_id,item_id,timestamp,event_type,value\n${rows.join('\n')}\n`,
  );
  const items = Array.from({ length: 19 }, (_, j) => `i${j},cat${j % 4},${j * 2.5},Item ${j}`);
  await writeFile(join(dir, 'items.csv'), `item_id,category,price,title\n${items.join('\n')}\n`);
  return dir;
}

function userRow(inputs: UserInputs, r: number, cfg: FeatureConfig) {
  const L = cfg.seqLen;
  const U = userSlots(cfg);
  return {
    userIdx: inputs.userIdx[r],
    seqIdx: [...inputs.seqIdx.subarray(r * L, (r + 1) * L)],
    seqW: [...inputs.seqW.subarray(r * 2 * L, (r + 1) * 2 * L)],
    userSide: [...inputs.userSide.subarray(r * U, (r + 1) * U)],
  };
}

/** Everything the protocol and the samples derive from a dataset, keyed so file order cannot show. */
function derived(ds: Dataset) {
  const split = leaveLastOut(ds);
  const cfg = detectFields(ds, DEFAULT_FEATURES);
  const vocab = buildVocabularies(ds, split.train, cfg);
  const items = encodeItems([...ds.items.values()], vocab, cfg);
  const set = buildTrainingSet(ds, split.train, vocab, items, cfg);
  const history = byUserInTimeOrder(split.train);
  const queries = buildQueryInputs(
    ds,
    split.test.map((t) => ({ user: t.user, ts: t.ts })),
    (u) => history.get(u) ?? [],
    vocab,
    cfg,
  );
  const rowText = (r: {
    user: string;
    item: string;
    ts: number;
    type?: string;
    value?: number;
    key: string;
  }) => `${canonicalRow(r)}\t${r.key}`;
  return {
    test: Object.fromEntries(split.test.map((t) => [t.user, { item: t.item, ts: t.ts, key: t.key }])),
    train: split.train.map(rowText).sort(),
    sequences: Object.fromEntries([...history].map(([u, rows]) => [u, rows.map((r) => r.item)])),
    queries: Object.fromEntries(split.test.map((t, r) => [t.user, userRow(queries, r, cfg)])),
    // users in ID order, each user's rows in (ts, key) order: the whole set is comparable
    training: {
      users: [...set.users.userIdx],
      seqIdx: [...set.users.seqIdx],
      seqW: [...set.users.seqW],
      userSide: [...set.users.userSide],
      positives: [...set.positives].map((p) => items.ids[p]),
    },
    corpus: items.ids,
  };
}

describe('ties in time', () => {
  it('the data has ties that matter: several rows of a user share its last timestamp', async () => {
    const ds = await loadDataset(await writeDataset(tiedRows(1)));
    const lastTs = new Map<string, number>();
    for (const r of ds.interactions) lastTs.set(r.user, Math.max(lastTs.get(r.user) ?? 0, r.ts));
    for (const [u, ts] of lastTs)
      expect(ds.interactions.filter((r) => r.user === u && r.ts === ts).length).toBeGreaterThan(1);
  });

  it('give the same split and sequence features whatever the file order', async () => {
    const rows = tiedRows(1);
    const original = await loadDataset(await writeDataset(rows));
    const expected = derived(original);
    expect(Object.keys(expected.test)).toHaveLength(8);
    for (const seed of [1, 2, 3]) {
      const again = await loadDataset(await writeDataset(shuffled(rows, seed)));
      expect(again.interactions.map((r) => r.row)).toEqual(original.interactions.map((r) => r.row));
      expect(again.interactions.map((r) => r.key)).not.toEqual(original.interactions.map((r) => r.key));
      expect(derived(again)).toEqual(expected);
    }
  });

  it('the same rows give the same keys in any order, exact duplicates suffixed .1, .2 …', async () => {
    const rows = tiedRows(1);
    const a = await loadDataset(await writeDataset(rows));
    const b = await loadDataset(await writeDataset(shuffled(rows, 7)));
    const keysOf = (ds: Dataset) => ds.interactions.map((r) => r.key).sort();
    expect(keysOf(b)).toEqual(keysOf(a));
    expect(new Set(keysOf(a)).size).toBe(rows.length);
    const dup = a.interactions.filter((r) => r.key.endsWith('.1'));
    // one per row text written more than once: each user's repeated first row, and rows drawn twice
    // (written alike: only the unusual row, never drawn, has another spelling of its numbers)
    const times = new Map<string, number>();
    for (const r of rows) times.set(r, (times.get(r) ?? 0) + 1);
    expect(dup.length).toBe([...times.values()].filter((n) => n > 1).length);
    for (const r of dup) expect(a.interactions.some((x) => x.key === r.key.slice(0, -2))).toBe(true);
  });
});

describe('content keys', () => {
  it('hash `user \\t item \\t ts \\t type \\t value` with numbers as parsed (shortest round-trip text)', () => {
    expect(canonicalRow({ user: 'u1', item: 'i3', ts: 1_700_172_800, type: 'view', value: 4.5 })).toBe(
      'u1\ti3\t1700172800\tview\t4.5',
    );
    expect(canonicalRow({ user: '007', item: 'x', ts: 1.25 })).toBe('007\tx\t1.25\t\t');
    expect(contentHash({ user: '007', item: 'x', ts: 1.25 })).toMatch(/^[0-9a-f]{16}$/);
    expect(contentHash({ user: 'u', item: 'x', ts: 1, type: 'view' })).not.toBe(
      contentHash({ user: 'u', item: 'x', ts: 1, type: 'click' }),
    );
  });

  it('suffix the N-th repeat of a row with .N', () => {
    const keys = new ContentKeys();
    const row = { user: 'u', item: 'x', ts: 1 };
    const h = contentHash(row);
    expect([keys.next(row), keys.next({ ...row, type: 'view' }), keys.next(row), keys.next(row)]).toEqual([
      h,
      contentHash({ ...row, type: 'view' }),
      `${h}.1`,
      `${h}.2`,
    ]);
  });

  it('are the same for a MovieLens rating and the same row in the project format', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'towerflow-keys-'));
    dirs.push(parent);
    await mkdir(join(parent, 'ml'));
    await mkdir(join(parent, 'project'));
    await writeFile(
      join(parent, 'ml', 'ratings.csv'),
      'userId,movieId,rating,timestamp\n1,31,2.50,964982703\n',
    );
    await writeFile(
      join(parent, 'project', 'interactions.csv'),
      'user_id,item_id,timestamp,event_type,value\n1,31,964982703.0,rating,2.5\n',
    );
    const ml = await loadDataset(join(parent, 'ml'));
    const project = await loadDataset(join(parent, 'project'));
    expect(ml.interactions[0]?.key).toBe(project.interactions[0]?.key);
  });
});
