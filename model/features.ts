import type { Dataset, Interaction, ItemRecord } from './data/types.js';
import { bucketOf, countValues, hashToken, quantileBoundaries, tokenize, Vocab } from './vocab.js';

/** What the towers see; saved with every model version. */
export interface FeatureConfig {
  /** Recent-behaviour sequence length (items strictly before the prediction point). */
  seqLen: number;
  /** Half-life of the time decay in the sequence pooling, in days. */
  seqHalfLifeDays: number;
  /** Per-position decay on top of time (sessions share timestamps). */
  seqPositionDecay: number;
  /** A second, short-term pooling: the plain mean of the last few items (0: off). */
  seqShortLen: number;
  /**
   * Events sharing a timestamp share their pooling weight (the mean of their positions' weights
   * in both poolings), so the arbitrary order among ties (a content key) picks nothing. Absent
   * in versions saved before it existed: those were trained with per-position weights.
   */
  seqTieShare?: boolean;
  /** Multi-valued categorical item fields used (from items.csv / movies.csv). */
  itemCategorical: string[];
  /** Numeric item fields, bucketised at quantiles. */
  itemNumeric: string[];
  numericBuckets: number;
  /** Hashing buckets for title tokens (0: no text feature). */
  textBuckets: number;
  maxTextTokens: number;
  maxCategoricalValues: number;
  userCategorical: string[];
  /** Buckets of the prediction time itself (quantiles of training timestamps; 0: off). */
  timeBuckets: number;
  minItemCount: number;
  minUserCount: number;
}

export const DEFAULT_FEATURES: FeatureConfig = {
  seqLen: 50,
  seqHalfLifeDays: 30,
  seqPositionDecay: 0.9,
  seqShortLen: 5,
  seqTieShare: true,
  itemCategorical: [],
  itemNumeric: [],
  numericBuckets: 10,
  textBuckets: 4096,
  maxTextTokens: 8,
  maxCategoricalValues: 8,
  userCategorical: [],
  timeBuckets: 20,
  minItemCount: 1,
  minUserCount: 1,
};

export interface Vocabularies {
  users: Vocab;
  items: Vocab;
  itemCategorical: Record<string, Vocab>;
  userCategorical: Record<string, Vocab>;
  numericBoundaries: Record<string, number[]>;
  /** Boundaries of the prediction-time context buckets. */
  timeBoundaries: number[];
}

/** Fields present in the data, filled into the config when it names none. */
export function detectFields(ds: Dataset, cfg: FeatureConfig): FeatureConfig {
  const cat = new Set<string>();
  const num = new Set<string>();
  for (const it of ds.items.values()) {
    for (const k of Object.keys(it.categorical)) cat.add(k);
    for (const k of Object.keys(it.numeric)) num.add(k);
  }
  const ucat = new Set<string>();
  for (const u of ds.users.values()) for (const k of Object.keys(u.categorical)) ucat.add(k);
  return {
    ...cfg,
    itemCategorical: cfg.itemCategorical.length ? cfg.itemCategorical : [...cat].sort(),
    itemNumeric: cfg.itemNumeric.length ? cfg.itemNumeric : [...num].sort(),
    userCategorical: cfg.userCategorical.length ? cfg.userCategorical : [...ucat].sort(),
  };
}

/** Vocabularies from the training interactions (IDs) and the side files (field values). */
export function buildVocabularies(ds: Dataset, train: Interaction[], cfg: FeatureConfig): Vocabularies {
  const itemCategorical: Record<string, Vocab> = {};
  for (const f of cfg.itemCategorical) {
    const vals: string[] = [];
    for (const it of ds.items.values()) vals.push(...(it.categorical[f] ?? []));
    itemCategorical[f] = Vocab.fromCounts(countValues(vals));
  }
  const numericBoundaries: Record<string, number[]> = {};
  for (const f of cfg.itemNumeric) {
    const vals: number[] = [];
    for (const it of ds.items.values()) {
      const v = it.numeric[f];
      if (v !== undefined && Number.isFinite(v)) vals.push(v);
    }
    numericBoundaries[f] = quantileBoundaries(vals, cfg.numericBuckets);
  }
  const userCategorical: Record<string, Vocab> = {};
  for (const f of cfg.userCategorical) {
    const vals: string[] = [];
    for (const u of ds.users.values()) {
      const v = u.categorical[f];
      if (v !== undefined && v !== '') vals.push(v);
    }
    userCategorical[f] = Vocab.fromCounts(countValues(vals));
  }
  return {
    users: Vocab.fromCounts(countValues(train.map((r) => r.user)), cfg.minUserCount),
    items: Vocab.fromCounts(countValues(train.map((r) => r.item)), cfg.minItemCount),
    itemCategorical,
    userCategorical,
    numericBoundaries,
    timeBoundaries:
      cfg.timeBuckets > 0
        ? quantileBoundaries(
            train.map((r) => r.ts),
            cfg.timeBuckets,
          )
        : [],
  };
}

/**
 * Layout of a tower's side-feature table: every side feature (item categories, numeric
 * buckets, title tokens; user profile fields and context) owns a block of rows in ONE
 * embedding table, so a tower gathers all its side features with a single op. Row 0 is
 * "missing".
 */
export interface SideLayout {
  /** Slot names in order; each slot becomes one pooled sideDim-wide block of the tower input. */
  slots: string[];
  /** First row of each slot's block. */
  offsets: number[];
  /** Rows of the whole table (including row 0). */
  rows: number;
  /** Prediction-time bucket boundaries (user side only). */
  timeBoundaries?: number[];
}

/** Accumulates slots and their row blocks. */
function layoutBuilder() {
  const slots: string[] = [];
  const offsets: number[] = [];
  let rows = 1;
  return {
    add(name: string, size: number) {
      slots.push(name);
      offsets.push(rows);
      rows += size;
    },
    done: (timeBoundaries?: number[]): SideLayout => ({ slots, offsets, rows, timeBoundaries }),
  };
}

export function itemSideLayout(vocab: Vocabularies, cfg: FeatureConfig): SideLayout {
  const b = layoutBuilder();
  for (const f of cfg.itemCategorical) b.add(`cat:${f}`, vocab.itemCategorical[f]?.size ?? 1);
  for (const f of cfg.itemNumeric) b.add(`num:${f}`, (vocab.numericBoundaries[f]?.length ?? 0) + 2);
  if (cfg.textBuckets > 0) b.add('text', cfg.textBuckets + 1);
  return b.done();
}

export function userSideLayout(vocab: Vocabularies, cfg: FeatureConfig): SideLayout {
  const b = layoutBuilder();
  for (const f of cfg.userCategorical) b.add(`cat:${f}`, vocab.userCategorical[f]?.size ?? 1);
  b.add('ctx:hour', 24);
  b.add('ctx:weekday', 7);
  b.add('ctx:gap', GAP_BOUNDARIES.length + 2);
  if (cfg.timeBuckets > 0) b.add('ctx:period', vocab.timeBoundaries.length + 2);
  return b.done(vocab.timeBoundaries);
}

/** Every corpus item's encoded features: row r is item `ids[r]`. */
export interface ItemMatrix {
  ids: string[];
  rowOf: Map<string, number>;
  itemIdx: Int32Array;
  /** [n, width] side-table rows of all side features, concatenated. */
  sideIdx: Int32Array;
  /** [n, slots, width] pooling weights: slot s averages its own values, 0 elsewhere. */
  sideW: Float32Array;
  sideWidth: number;
  slots: number;
}

export function encodeItems(records: ItemRecord[], vocab: Vocabularies, cfg: FeatureConfig): ItemMatrix {
  const layout = itemSideLayout(vocab, cfg);
  const ids = records.map((r) => r.id);
  // per slot: its width in the concatenated bag and a function giving an item's values (block-relative rows)
  const slotValues: { width: number; values: (r: ItemRecord) => number[] }[] = [];
  for (const f of cfg.itemCategorical) {
    const v = vocab.itemCategorical[f] as Vocab;
    slotValues.push({
      width: cfg.maxCategoricalValues,
      values: (r) => (r.categorical[f] ?? []).map((x) => v.lookup(x)).filter((i) => i > 0),
    });
  }
  for (const f of cfg.itemNumeric) {
    const b = vocab.numericBoundaries[f] ?? [];
    slotValues.push({ width: 1, values: (r) => [bucketOf(r.numeric[f], b)] });
  }
  if (cfg.textBuckets > 0)
    slotValues.push({
      width: cfg.maxTextTokens,
      values: (r) => tokenize(r.text ?? '').map((t) => hashToken(t, cfg.textBuckets)),
    });
  const width = Math.max(
    1,
    slotValues.reduce((a, s) => a + s.width, 0),
  );
  const S = Math.max(1, slotValues.length);
  const n = records.length;
  const sideIdx = new Int32Array(n * width);
  const sideW = new Float32Array(n * S * width);
  records.forEach((rec, r) => {
    let col = 0;
    slotValues.forEach((slot, s) => {
      const vals = slot.values(rec).slice(0, slot.width);
      const off = layout.offsets[s] as number;
      for (let j = 0; j < vals.length; j++) {
        sideIdx[r * width + col + j] = off + (vals[j] as number);
        sideW[(r * S + s) * width + col + j] = 1 / vals.length;
      }
      col += slot.width;
    });
  });
  return {
    ids,
    rowOf: new Map(ids.map((id, i) => [id, i])),
    itemIdx: Int32Array.from(records, (r) => vocab.items.lookup(r.id)),
    sideIdx,
    sideW,
    sideWidth: width,
    slots: S,
  };
}

/** User-side inputs for a batch of prediction points; row-major typed arrays. */
export interface UserInputs {
  n: number;
  userIdx: Int32Array;
  /** [n, seqLen] item-ID vocabulary indices of the recent sequence (0 = padding/OOV). */
  seqIdx: Int32Array;
  /**
   * [n, 2, seqLen] pooling weights, each normalised per row (0 for padding): pooling 0 decays
   * with time and position, pooling 1 is the mean of the last `seqShortLen` items.
   */
  seqW: Float32Array;
  /** [n, userSlots] rows of the user side table: profile fields, then hour and weekday. */
  userSide: Int32Array;
}

/**
 * Seconds since the user's previous interaction, bucketised: 0 (same session timestamp), under
 * a minute, an hour, a day, a week, a month, a year, more. 0 is "no previous interaction".
 */
export const GAP_BOUNDARIES = [1, 60, 3600, 86_400, 7 * 86_400, 30 * 86_400, 365 * 86_400];

/** Profile fields plus the context slots (hour, weekday, gap and, when on, the time period). */
export function userSlots(cfg: FeatureConfig): number {
  return cfg.userCategorical.length + 3 + (cfg.timeBuckets > 0 ? 1 : 0);
}

export function allocUserInputs(n: number, cfg: FeatureConfig): UserInputs {
  return {
    n,
    userIdx: new Int32Array(n),
    seqIdx: new Int32Array(n * cfg.seqLen),
    seqW: new Float32Array(n * 2 * cfg.seqLen),
    userSide: new Int32Array(n * userSlots(cfg)),
  };
}

export interface HistoryEntry {
  itemIdx: number;
  ts: number;
}

let decayCache: { decay: number; table: Float64Array } | undefined;
/** decay^pos for pos < length (one table per process: every row of every batch needs it). */
function positionDecays(decay: number, length: number): Float64Array {
  if (decayCache?.decay !== decay || decayCache.table.length < length)
    decayCache = { decay, table: Float64Array.from({ length }, (_, p) => decay ** p) };
  return decayCache.table;
}

/**
 * Fills row `r` for a prediction at time `ts` from the user's history *before* that point
 * (the caller passes only past entries, so nothing of the future leaks in).
 */
export function fillUserRow(
  out: UserInputs,
  r: number,
  cfg: FeatureConfig,
  layout: SideLayout,
  userIdx: number,
  userCat: number[],
  ts: number,
  history: readonly HistoryEntry[],
  historyEnd: number,
): void {
  out.userIdx[r] = userIdx;
  const L = cfg.seqLen;
  const start = Math.max(0, historyEnd - L);
  const filled = historyEnd - start;
  const long = r * 2 * L;
  const short = long + L;
  out.seqW.fill(0, long, long + 2 * L);
  out.seqIdx.fill(0, r * L, r * L + L);
  let sum = 0;
  const halfLife = cfg.seqHalfLifeDays * 86_400;
  const byPosition = positionDecays(cfg.seqPositionDecay, L);
  const recent = Math.min(filled, cfg.seqShortLen);
  if (cfg.seqTieShare) {
    // runs of equal timestamps (positions a..b, newest first): each member gets the run's mean
    // position decay, and the short pooling's share of the run spread evenly over its members
    for (let a = 0; a < filled; ) {
      const ts0 = (history[historyEnd - 1 - a] as HistoryEntry).ts;
      let b = a;
      while (b + 1 < filled && (history[historyEnd - 2 - b] as HistoryEntry).ts === ts0) b++;
      const size = b - a + 1;
      let decay = 0;
      for (let pos = a; pos <= b; pos++) decay += byPosition[pos] as number;
      const w = 0.5 ** (Math.max(0, ts - ts0) / halfLife) * (decay / size) + 1e-6;
      const inShort = Math.max(0, Math.min(b, recent - 1) - a + 1);
      for (let pos = a; pos <= b; pos++) {
        out.seqIdx[r * L + pos] = (history[historyEnd - 1 - pos] as HistoryEntry).itemIdx;
        out.seqW[long + pos] = w;
        if (inShort > 0) out.seqW[short + pos] = inShort / size / recent;
      }
      sum += w * size;
      a = b + 1;
    }
  } else {
    for (let j = historyEnd - 1, pos = 0; j >= start; j--, pos++) {
      const h = history[j] as HistoryEntry;
      const age = Math.max(0, ts - h.ts);
      const w = 0.5 ** (age / halfLife) * (byPosition[pos] as number) + 1e-6;
      out.seqIdx[r * L + pos] = h.itemIdx;
      out.seqW[long + pos] = w;
      sum += w;
    }
    for (let pos = 0; pos < recent; pos++) out.seqW[short + pos] = 1 / recent;
  }
  for (let pos = 0; pos < filled; pos++) out.seqW[long + pos] = (out.seqW[long + pos] as number) / sum;
  const U = userSlots(cfg);
  const F = cfg.userCategorical.length;
  for (let f = 0; f < F; f++) out.userSide[r * U + f] = (layout.offsets[f] as number) + (userCat[f] ?? 0);
  const d = new Date(ts * 1000);
  out.userSide[r * U + F] = (layout.offsets[F] as number) + d.getUTCHours();
  out.userSide[r * U + F + 1] = (layout.offsets[F + 1] as number) + d.getUTCDay();
  const previous = historyEnd > 0 ? (history[historyEnd - 1] as HistoryEntry).ts : undefined;
  out.userSide[r * U + F + 2] =
    (layout.offsets[F + 2] as number) +
    (previous === undefined ? 0 : bucketOf(Math.max(0, ts - previous), GAP_BOUNDARIES));
  if (cfg.timeBuckets > 0)
    out.userSide[r * U + F + 3] =
      (layout.offsets[F + 3] as number) + bucketOf(ts, layout.timeBoundaries ?? []);
}

export function userCategoricalIndices(
  ds: Dataset,
  user: string,
  vocab: Vocabularies,
  cfg: FeatureConfig,
): number[] {
  const rec = ds.users.get(user);
  return cfg.userCategorical.map((f) =>
    rec ? (vocab.userCategorical[f]?.lookup(rec.categorical[f] ?? '') ?? 0) : 0,
  );
}
