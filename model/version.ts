import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ItemRecord } from './data/types.js';
import {
  allocUserInputs,
  encodeItems,
  type FeatureConfig,
  fillUserRow,
  userSideLayout,
  type Vocabularies,
} from './features.js';
import {
  embedAllItems,
  embedUsers,
  itemFeatures,
  type ModelShapes,
  type TowerConfig,
  TwoTower,
} from './towers.js';
import { CpuUserTower } from './user-tower-cpu.js';
import { Vocab } from './vocab.js';

/** Training facts and offline metrics written with a version. */
export interface VersionMetadata {
  version: string;
  createdAt: string;
  dataset: string;
  initFrom?: string;
  training: { samples: number; seconds: number; samplesPerSecond: number; epochs: number; finalLoss: number };
  metrics?: Record<string, Record<string, number>>;
  [extra: string]: unknown;
}

interface SavedVocab {
  users: string[];
  items: string[];
  itemCategorical: Record<string, string[]>;
  userCategorical: Record<string, string[]>;
  numericBoundaries: Record<string, number[]>;
  timeBoundaries?: number[];
}

const FILES = {
  weights: 'weights.bin',
  manifest: 'weights.json',
  vocab: 'vocab.json',
  features: 'features.json',
  model: 'model.json',
  metadata: 'metadata.json',
};

/**
 * Writes a version directory atomically: everything goes into a temporary sibling that is
 * renamed into place, so readers never see a half-written version.
 */
export async function saveVersion(
  dir: string,
  model: TwoTower,
  vocab: Vocabularies,
  features: FeatureConfig,
  meta: VersionMetadata,
): Promise<string> {
  const final = path.resolve(dir);
  const tmp = `${final}.tmp-${randomUUID().slice(0, 8)}`;
  await mkdir(tmp, { recursive: true });
  try {
    const weights = await model.export();
    let offset = 0;
    const manifest = weights.map((w) => {
      const entry = { name: w.name, shape: w.shape, offset, length: w.data.length };
      offset += w.data.length;
      return entry;
    });
    const all = new Float32Array(offset);
    for (const [i, w] of weights.entries()) all.set(w.data, manifest[i]?.offset);
    const saved: SavedVocab = {
      users: vocab.users.toJSON(),
      items: vocab.items.toJSON(),
      itemCategorical: Object.fromEntries(
        Object.entries(vocab.itemCategorical).map(([k, v]) => [k, v.toJSON()]),
      ),
      userCategorical: Object.fromEntries(
        Object.entries(vocab.userCategorical).map(([k, v]) => [k, v.toJSON()]),
      ),
      numericBoundaries: vocab.numericBoundaries,
      timeBoundaries: vocab.timeBoundaries,
    };
    await writeFile(path.join(tmp, FILES.weights), Buffer.from(all.buffer, all.byteOffset, all.byteLength));
    await writeFile(path.join(tmp, FILES.manifest), JSON.stringify(manifest));
    await writeFile(path.join(tmp, FILES.vocab), JSON.stringify(saved));
    await writeFile(path.join(tmp, FILES.features), JSON.stringify(features, null, 2));
    await writeFile(
      path.join(tmp, FILES.model),
      JSON.stringify({ towers: model.towers, shapes: model.shapes }, null, 2),
    );
    await writeFile(path.join(tmp, FILES.metadata), JSON.stringify(meta, null, 2));
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    return final;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface SavedWeights {
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  vocab: Vocabularies;
  features: FeatureConfig;
  towers: TowerConfig;
  shapes: ModelShapes;
  meta: VersionMetadata;
}

export async function readVersion(dir: string): Promise<SavedWeights> {
  const read = async (f: string) => {
    try {
      return await readFile(path.join(dir, f));
    } catch (e) {
      throw new Error(`model version ${dir} is incomplete: ${f} (${(e as NodeJS.ErrnoException).code})`);
    }
  };
  const bin = await read(FILES.weights);
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const manifest = JSON.parse((await read(FILES.manifest)).toString()) as {
    name: string;
    shape: number[];
    offset: number;
    length: number;
  }[];
  const v = JSON.parse((await read(FILES.vocab)).toString()) as SavedVocab;
  const m = JSON.parse((await read(FILES.model)).toString()) as { towers: TowerConfig; shapes: ModelShapes };
  return {
    weights: new Map(
      manifest.map((e) => [e.name, { shape: e.shape, data: all.subarray(e.offset, e.offset + e.length) }]),
    ),
    vocab: {
      users: new Vocab(v.users),
      items: new Vocab(v.items),
      itemCategorical: Object.fromEntries(
        Object.entries(v.itemCategorical).map(([k, x]) => [k, new Vocab(x)]),
      ),
      userCategorical: Object.fromEntries(
        Object.entries(v.userCategorical).map(([k, x]) => [k, new Vocab(x)]),
      ),
      numericBoundaries: v.numericBoundaries,
      timeBoundaries: v.timeBoundaries ?? [],
    },
    features: JSON.parse((await read(FILES.features)).toString()) as FeatureConfig,
    towers: m.towers,
    shapes: m.shapes,
    meta: JSON.parse((await read(FILES.metadata)).toString()) as VersionMetadata,
  };
}

/** What the user tower needs for one request. */
export interface UserQuery {
  userId: string;
  /** Profile fields (users.csv columns). */
  profile?: Record<string, string>;
  /** Past behaviour, oldest first; only entries at or before `ts` are used. */
  history: { itemId: string; ts: number }[];
  /** Prediction time, Unix seconds. */
  ts: number;
  /**
   * The user's ID-embedding row [idDim] to use instead of the version's table row (one moved by
   * the incremental updater, held in Redis with this version); absent: the table row (OOV if unseen).
   */
  idRow?: Float32Array;
}

/** Above this many queries a call goes through TensorFlow even with the CPU user tower. */
export const CPU_USER_ROWS = 16;

/** A loaded model version: the API that streams, batch and serving use. */
export class ModelVersion {
  private constructor(
    readonly dir: string,
    readonly model: TwoTower,
    readonly vocab: Vocabularies,
    readonly features: FeatureConfig,
    readonly meta: VersionMetadata,
    private readonly cpuUserTower?: CpuUserTower,
  ) {}

  /**
   * With `cpuUserTower`, user vectors for up to `CPU_USER_ROWS` queries at a time are computed in
   * plain JS (serving: one request's user) from the user side of the weights as read.
   */
  static async load(dir: string, opts: { cpuUserTower?: boolean } = {}): Promise<ModelVersion> {
    const s = await readVersion(dir);
    const cpu = opts.cpuUserTower ? CpuUserTower.fromWeights(s.weights, s.towers, s.shapes) : undefined;
    return new ModelVersion(
      dir,
      new TwoTower(s.shapes, s.towers, s.weights),
      s.vocab,
      s.features,
      s.meta,
      cpu,
    );
  }

  get dim(): number {
    return this.model.towers.outDim;
  }

  /** Item vectors [records.length × dim], row-major; unseen ids fall back to their other features. */
  itemVectors(records: ItemRecord[]): Float32Array {
    const matrix = encodeItems(records, this.vocab, this.features);
    return embedAllItems(this.model, itemFeatures(matrix));
  }

  /** User vectors [queries.length × dim]; unknown users use the OOV row plus their behaviour and profile. */
  userVectors(queries: UserQuery[]): Float32Array {
    const cfg = this.features;
    const u = allocUserInputs(queries.length, cfg);
    const layout = userSideLayout(this.vocab, cfg);
    queries.forEach((q, r) => {
      const past = q.history.filter((h) => h.ts <= q.ts);
      fillUserRow(
        u,
        r,
        cfg,
        layout,
        this.vocab.users.lookup(q.userId),
        cfg.userCategorical.map((f) => this.vocab.userCategorical[f]?.lookup(q.profile?.[f] ?? '') ?? 0),
        q.ts,
        past.map((h) => ({ itemIdx: this.vocab.items.lookup(h.itemId), ts: h.ts })),
        past.length,
      );
    });
    const idRows = overrideRows(queries, this.model.towers.idDim);
    if (this.cpuUserTower && queries.length <= CPU_USER_ROWS)
      return this.cpuUserTower.embed(u, cfg.seqLen, idRows);
    return embedUsers(this.model, u, cfg, idRows);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** The override ID rows of `queries` as one matrix, or undefined when none has one (the plain path). */
function overrideRows(
  queries: UserQuery[],
  idDim: number,
): { rows: Float32Array; overridden: Uint8Array } | undefined {
  if (!queries.some((q) => q.idRow)) return undefined;
  const rows = new Float32Array(queries.length * idDim);
  const overridden = new Uint8Array(queries.length);
  queries.forEach((q, r) => {
    if (!q.idRow) return;
    if (q.idRow.length !== idDim)
      throw new Error(`ID row of user ${q.userId} has ${q.idRow.length} values, the model's rows ${idDim}`);
    rows.set(q.idRow, r * idDim);
    overridden[r] = 1;
  });
  return { rows, overridden };
}
