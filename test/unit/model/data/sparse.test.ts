import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalRow } from '../../../../model/data/keys.js';
import { loadDataset } from '../../../../model/data/load.js';
import { seededRandom } from '../../../../model/data/random.js';
import { rowsToKeep, sparsify } from '../../../../model/data/sparse.js';
import { syntheticDataset, writeDatasetCsv } from '../../../../model/data/synthetic.js';
import type { Dataset, Interaction } from '../../../../model/data/types.js';
import { leaveLastOut } from '../../../../model/eval/protocol.js';

const DAY = 86_400;
const source = syntheticDataset({ users: 30, items: 80, interactions: 3_000, seed: 4 });
const OPTIONS = { keep: 0.25, seed: 1, dropEvery: 10, name: 'sparse' };

const perUser = (rows: Interaction[]) => {
  const out = new Map<string, Interaction[]>();
  for (const r of rows) out.set(r.user, [...(out.get(r.user) ?? []), r]);
  return out;
};

describe('sparsify', () => {
  const { ds, withoutRow, stats } = sparsify(source, OPTIONS);

  it('is deterministic for a seed, whatever the source file order; another seed samples otherwise', () => {
    expect(sparsify(source, OPTIONS)).toEqual({ ds, withoutRow, stats });
    const random = seededRandom(3);
    const reordered = [...source.interactions];
    for (let i = reordered.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [reordered[i], reordered[j]] = [reordered[j] as Interaction, reordered[i] as Interaction];
    }
    const again = sparsify({ ...source, interactions: reordered }, OPTIONS);
    expect(again.ds.interactions).toEqual(ds.interactions);
    const other = sparsify(source, { ...OPTIONS, seed: 2 });
    expect(other.ds.interactions.map((x) => x.key).sort()).not.toEqual(
      ds.interactions.map((x) => x.key).sort(),
    );
  });

  it("keeps round(25%) of each user's rows, at least 2, all drawn from that user's rows", () => {
    const before = perUser(source.interactions);
    const after = perUser(ds.interactions);
    expect(after.size).toBe(before.size);
    for (const [user, rows] of before) {
      const kept = after.get(user) ?? [];
      expect(kept.length).toBe(rowsToKeep(rows.length, 0.25));
      expect(kept.length).toBeGreaterThanOrEqual(2);
      const truncated = new Set(rows.map((r) => canonicalRow({ ...r, ts: Math.floor(r.ts / DAY) * DAY })));
      for (const k of kept) expect(truncated.has(canonicalRow(k))).toBe(true);
    }
    expect(stats.rows / stats.sourceRows).toBeCloseTo(0.25, 1);
    expect(rowsToKeep(1, 0.25)).toBe(1);
    expect(rowsToKeep(2, 0.25)).toBe(2);
    expect(rowsToKeep(3, 0.25)).toBe(2);
    expect(rowsToKeep(40, 0.25)).toBe(10);
    expect(rowsToKeep(41, 1)).toBe(41);
  });

  it('keeps every user with two distinct items evaluable', () => {
    const split = leaveLastOut(ds);
    expect(split.test.length).toBe(stats.evaluableUsers);
    expect(stats.evaluableUsers).toBe(leaveLastOut(source).test.length);
  });

  it('truncates timestamps to the UTC day, so many rows tie', () => {
    for (const x of ds.interactions) expect(x.ts % DAY).toBe(0);
    expect(stats.tiedRows).toBeGreaterThan(0);
  });

  it('leaves every tenth interacted item (sorted IDs) without an item row', () => {
    const interacted = [...new Set(ds.interactions.map((x) => x.item))].sort();
    const tenth = interacted.filter((_, i) => i % 10 === 9);
    expect(tenth.length).toBe(Math.floor(interacted.length / 10));
    expect(withoutRow).toEqual(tenth);
    expect(ds.idOnly).toEqual({
      source: 'items.csv',
      items: tenth,
      interactions: ds.interactions.filter((x) => tenth.includes(x.item)).length,
    });
    for (const id of interacted) {
      const rec = ds.items.get(id);
      if (tenth.includes(id)) expect(rec).toEqual({ id, categorical: {}, numeric: {} });
      else expect(rec).toEqual(source.items.get(id));
    }
  });

  it('writes the rows in a seeded random order, not in time order', () => {
    const ts = ds.interactions.map((x) => x.ts);
    expect(ts).not.toEqual([...ts].sort((a, b) => a - b));
    expect(ds.interactions.map((x) => x.row)).toEqual(ds.interactions.map((_, i) => i));
  });
});

describe('a sparse dataset written and loaded back', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('loads as the same dataset: same keys, ID-only items reported, profiles kept', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'towerflow-sparse-'));
    dirs.push(parent);
    const dir = join(parent, 'sparse');
    const { ds } = sparsify(source, OPTIONS);
    await writeDatasetCsv(ds, dir);
    const back: Dataset = await loadDataset(dir);
    expect(back).toEqual(ds);
    expect([...back.items.keys()]).toEqual([...ds.items.keys()]);
  });
});
