import type { Dataset, Interaction, ItemRecord } from './data/types.js';
import {
  buildVocabularies,
  DEFAULT_FEATURES,
  detectFields,
  encodeItems,
  type FeatureConfig,
  type ItemMatrix,
  type Vocabularies,
} from './features.js';
import { buildTrainingSet } from './samples.js';
import { tf } from './tf.js';
import {
  DEFAULT_TOWERS,
  type ItemFeatures,
  itemFeatures,
  shapesOf,
  type TowerConfig,
  TwoTower,
} from './towers.js';
import { DEFAULT_TRAIN, type StepInfo, type TrainConfig, type TrainResult, train } from './train.js';
import { readVersion, type SavedWeights } from './version.js';
import type { Vocab } from './vocab.js';

export interface FitOptions {
  features?: Partial<FeatureConfig>;
  towers?: Partial<TowerConfig>;
  train?: Partial<TrainConfig>;
  /** A previous version directory to warm-start from. */
  initFrom?: string;
  onStep?: (s: StepInfo) => void;
}

export interface Fitted {
  model: TwoTower;
  vocab: Vocabularies;
  features: FeatureConfig;
  corpus: ItemRecord[];
  items: ItemMatrix;
  itemFeatures: ItemFeatures;
  result: TrainResult;
  trainConfig: TrainConfig;
}

/**
 * Maps a previous version's weights onto this vocabulary: ID and categorical tables are
 * re-indexed by value (a row follows its user/item, not its position), dense layers are kept
 * when their shapes match; everything else starts fresh.
 */
function remapWarmStart(
  prior: SavedWeights,
  vocab: Vocabularies,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const tables: [string, Vocab | undefined, Vocab | undefined][] = [
    ['user_id', prior.vocab.users, vocab.users],
    ['item_id', prior.vocab.items, vocab.items],
    ...Object.keys(vocab.itemCategorical).map(
      (f) =>
        [`item_cat/${f}`, prior.vocab.itemCategorical[f], vocab.itemCategorical[f]] as [
          string,
          Vocab | undefined,
          Vocab | undefined,
        ],
    ),
    ...Object.keys(vocab.userCategorical).map(
      (f) =>
        [`user_cat/${f}`, prior.vocab.userCategorical[f], vocab.userCategorical[f]] as [
          string,
          Vocab | undefined,
          Vocab | undefined,
        ],
    ),
  ];
  const remapped = new Set<string>();
  for (const [name, oldV, newV] of tables) {
    const w = prior.weights.get(name);
    if (!w || !oldV || !newV) continue;
    const dim = w.shape[1] as number;
    const data = new Float32Array(newV.size * dim);
    // fresh rows: small noise like a new table
    const noise = tf.randomNormal([newV.size * dim], 0, 0.05).dataSync() as Float32Array;
    data.set(noise);
    data.set(w.data.subarray(0, dim), 0); // the OOV row carries over
    newV.values.forEach((value, i) => {
      const old = oldV.lookup(value);
      if (old > 0) data.set(w.data.subarray(old * dim, old * dim + dim), (i + 1) * dim);
    });
    out.set(name, { shape: [newV.size, dim], data });
    remapped.add(name);
  }
  for (const [name, w] of prior.weights) if (!remapped.has(name)) out.set(name, w);
  return out;
}

/** Builds vocabularies and features from the training rows and trains the towers. */
export async function fitTwoTower(
  ds: Dataset,
  trainRows: readonly Interaction[],
  opts: FitOptions = {},
): Promise<Fitted> {
  const features = detectFields(ds, { ...DEFAULT_FEATURES, ...opts.features });
  const towers = { ...DEFAULT_TOWERS, ...opts.towers };
  const trainConfig = { ...DEFAULT_TRAIN, ...opts.train };
  const vocab = buildVocabularies(ds, trainRows as Interaction[], features);
  // the loader's contract: ds.items holds every item of the corpus, interacted with or not
  const corpus = [...ds.items.values()];
  const items = encodeItems(corpus, vocab, features);
  const set = buildTrainingSet(ds, trainRows, vocab, items, features);
  let init: Map<string, { shape: number[]; data: Float32Array }> | undefined;
  if (opts.initFrom) init = remapWarmStart(await readVersion(opts.initFrom), vocab);
  const model = new TwoTower(shapesOf(vocab, features), towers, init, trainConfig.seed);
  const t = itemFeatures(items);
  const result = await train(model, t, set, trainConfig, features, opts.onStep);
  return { model, vocab, features, corpus, items, itemFeatures: t, result, trainConfig };
}
