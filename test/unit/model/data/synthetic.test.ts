import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../../model/data/load.js';
import { syntheticDataset, writeDatasetCsv } from '../../../../model/data/synthetic.js';

const OPTIONS = { users: 40, items: 60, interactions: 3_000, seed: 11 };

describe('syntheticDataset', () => {
  const ds = syntheticDataset(OPTIONS);

  it('has the requested sizes, strictly increasing timestamps and file rows', () => {
    expect(ds.interactions).toHaveLength(3_000);
    expect(ds.items.size).toBe(60);
    expect(ds.users.size).toBe(40);
    ds.interactions.forEach((r, k) => {
      expect(r.row).toBe(k);
      if (k > 0) expect(r.ts).toBeGreaterThan(ds.interactions[k - 1]!.ts);
    });
  });

  it('is reproducible from the seed', () => {
    expect(syntheticDataset(OPTIONS)).toEqual(ds);
    expect(syntheticDataset({ ...OPTIONS, seed: 12 }).interactions).not.toEqual(ds.interactions);
  });

  it('gives every user at least two interactions and clustered tastes', () => {
    const categoriesByUser = new Map<string, string[]>();
    for (const r of ds.interactions) {
      const category = ds.items.get(r.item)!.categorical.category![0]!;
      categoriesByUser.set(r.user, [...(categoriesByUser.get(r.user) ?? []), category]);
    }
    expect(categoriesByUser.size).toBe(40);
    let topShare = 0;
    for (const categories of categoriesByUser.values()) {
      expect(categories.length).toBeGreaterThanOrEqual(2);
      const counts = new Map<string, number>();
      for (const c of categories) counts.set(c, (counts.get(c) ?? 0) + 1);
      topShare += Math.max(...counts.values()) / categories.length;
    }
    // 8 clusters: without clustering the top category would hold roughly 1/8 to 1/4.
    expect(topShare / categoriesByUser.size).toBeGreaterThan(0.6);
  });
});

describe('writeDatasetCsv', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('writes the project format that loadDataset reads back unchanged', async () => {
    const ds = syntheticDataset({ users: 20, items: 15, interactions: 200, seed: 5 });
    const dir = join(await mkdtemp(join(tmpdir(), 'towerflow-synthetic-')), 'synthetic-5');
    dirs.push(dir);
    await writeDatasetCsv(ds, dir);
    const back = await loadDataset(dir);
    expect(back).toEqual(ds);
  });
});
