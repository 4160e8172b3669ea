import type { Dataset, Interaction } from '../data/types.js';
import {
  allocUserInputs,
  type FeatureConfig,
  fillUserRow,
  type HistoryEntry,
  type SideLayout,
  type UserInputs,
  userCategoricalIndices,
  userSideLayout,
  type Vocabularies,
} from '../features.js';
import {
  type Behaviour,
  IdRowUpdater,
  type IncrementalConfig,
  type UpdateResult,
  type UserUpdate,
} from '../incremental.js';
import type { Fitted } from '../pipeline.js';
import { byUserInTimeOrder } from '../samples.js';
import { type Tensor2D, tf } from '../tf.js';
import { embedAllItems, embedUsers } from '../towers.js';
import { MAX_CUTOFF, MetricAccumulator, type MetricName, rankTopK } from './metrics.js';
import type { PrequentialReport } from './prequential.js';

/**
 * The steps of the prequential walk (model/eval/prequential.ts): the users' state, one window's
 * features, scores and ranking, the window's ID updates, and the running tallies the report is
 * made of. Each step takes and changes only the state it is given.
 */

export const REPORTED = [
  'HR@10',
  'HR@50',
  'HR@100',
  'NDCG@10',
  'NDCG@50',
] as const satisfies readonly MetricName[];
export type Reported = Record<(typeof REPORTED)[number], number>;
export type Arm = 'baseline' | 'incremental';
export type CurvePoint = { events: number; baseline: number; incremental: number };

export function pick(m: Record<MetricName, number>): Reported {
  return Object.fromEntries(REPORTED.map((k) => [k, m[k]])) as Reported;
}

/** What the walk knows of one user as of the event in hand. */
export interface UserState {
  hist: HistoryEntry[];
  items: string[];
  /** Corpus rows of the user's items so far (excluded from their rankings). */
  seen: Set<number>;
  cat: number[];
  profile: Record<string, string>;
  /** Has training rows (otherwise starts from the OOV ID row). */
  known: boolean;
}

export interface WalkState {
  users: Map<string, UserState>;
  /** The incremental arm's ID row of each user updated so far. */
  moved: Map<string, Float32Array>;
}

/** The fitted model's parts the walk reads; the item tensor and the updater are disposed by `closeWalkModel`. */
export interface WalkModel {
  fitted: Fitted;
  cfg: FeatureConfig;
  vocab: Vocabularies;
  layout: SideLayout;
  /** Corpus size. */
  n: number;
  dim: number;
  idDim: number;
  itemT: Tensor2D;
  updater: IdRowUpdater;
}

/** Counts and accumulators of the walk, from which the report is made. */
export interface Tally {
  arms: Record<Arm, MetricAccumulator>;
  /** The same, on new users' events only. */
  newArms: Record<Arm, MetricAccumulator>;
  hits50: Record<Arm, number>;
  /** Per user: incremental hits@50 minus baseline hits@50. */
  userGain: Map<string, number>;
  testUsers: Set<string>;
  newUsers: Set<string>;
  curve: CurvePoint[];
  /** Walked events between curve points, and the next point's mark. */
  every: number;
  nextMark: number;
  evaluated: number;
  repeats: number;
  newUserEvents: number;
  coldItemEvents: number;
  windows: number;
  userUpdates: number;
  stepNormSum: number;
  rowSteps: number;
  clipped: number;
  projected: number;
}

export function openWalkModel(fitted: Fitted, incCfg: IncrementalConfig): WalkModel {
  const { model, vocab, features: cfg, items } = fitted;
  const dim = model.towers.outDim;
  const n = items.ids.length;
  const itemVecs = embedAllItems(model, fitted.itemFeatures);
  const itemT = tf.tensor2d(itemVecs, [n, dim]);
  const updater = new IdRowUpdater(
    { model, vocab, features: cfg },
    { vectors: itemVecs, rowOf: items.rowOf },
    incCfg,
  );
  const layout = userSideLayout(vocab, cfg);
  return { fitted, cfg, vocab, layout, n, dim, idDim: model.towers.idDim, itemT, updater };
}

export function closeWalkModel(w: WalkModel): void {
  w.itemT.dispose();
  w.updater.dispose();
}

/** Every training user with their training rows as history. */
export function trainingUsers(ds: Dataset, train: readonly Interaction[], fitted: Fitted): WalkState {
  const { vocab, features: cfg, items } = fitted;
  const users = new Map<string, UserState>();
  for (const [user, rows] of byUserInTimeOrder(train))
    users.set(user, {
      hist: rows.map((r) => ({ itemIdx: vocab.items.lookup(r.item), ts: r.ts })),
      items: rows.map((r) => r.item),
      seen: new Set(rows.map((r) => items.rowOf.get(r.item) ?? -1)),
      cat: userCategoricalIndices(ds, user, vocab, cfg),
      profile: { ...ds.users.get(user)?.categorical },
      known: true,
    });
  return { users, moved: new Map() };
}

/** The user's state, a new (unknown) user's first. */
export function userState(
  ds: Dataset,
  users: Map<string, UserState>,
  user: string,
  vocab: Vocabularies,
  cfg: FeatureConfig,
): UserState {
  let s = users.get(user);
  if (!s) {
    s = {
      hist: [],
      items: [],
      seen: new Set(),
      cat: userCategoricalIndices(ds, user, vocab, cfg),
      profile: { ...ds.users.get(user)?.categorical },
      known: false,
    };
    users.set(user, s);
  }
  return s;
}

export function newTally(events: number, curvePoints = 20): Tally {
  const every = Math.max(1, Math.ceil(events / curvePoints));
  return {
    arms: { baseline: new MetricAccumulator(), incremental: new MetricAccumulator() },
    newArms: { baseline: new MetricAccumulator(), incremental: new MetricAccumulator() },
    hits50: { baseline: 0, incremental: 0 },
    userGain: new Map(),
    testUsers: new Set(),
    newUsers: new Set(),
    curve: [],
    every,
    nextMark: every,
    evaluated: 0,
    repeats: 0,
    newUserEvents: 0,
    coldItemEvents: 0,
    windows: 0,
    userUpdates: 0,
    stepNormSum: 0,
    rowSteps: 0,
    clipped: 0,
    projected: 0,
  };
}

/** One window's user-tower inputs, and the incremental arm's ID rows where they moved. */
export interface WindowFeatures {
  inputs: UserInputs;
  rows: Float32Array;
  overridden: Uint8Array;
  /** History length of each user before the window. */
  firstLen: Map<string, number>;
}

/**
 * The features of every event of the window as of just before it; the history moves per event
 * (each event joins its user's history after its own row is filled).
 */
export function windowFeatures(
  ds: Dataset,
  w: WalkModel,
  state: WalkState,
  events: readonly Interaction[],
  tally: Tally,
): WindowFeatures {
  const { cfg, vocab, layout, idDim } = w;
  const m = events.length;
  const inputs = allocUserInputs(m, cfg);
  const rows = new Float32Array(m * idDim);
  const overridden = new Uint8Array(m);
  const firstLen = new Map<string, number>();
  events.forEach((e, k) => {
    const st = userState(ds, state.users, e.user, vocab, cfg);
    tally.testUsers.add(e.user);
    if (!st.known) tally.newUsers.add(e.user);
    if (!firstLen.has(e.user)) firstLen.set(e.user, st.hist.length);
    fillUserRow(inputs, k, cfg, layout, vocab.users.lookup(e.user), st.cat, e.ts, st.hist, st.hist.length);
    st.hist.push({ itemIdx: vocab.items.lookup(e.item), ts: e.ts });
    st.items.push(e.item);
    const row = state.moved.get(e.user);
    if (row) {
      rows.set(row, k * idDim);
      overridden[k] = 1;
    }
  });
  return { inputs, rows, overridden, firstLen };
}

/** [m, n] scores of the window's events against every item, per arm (the same array when no ID row moved). */
export function armScores(w: WalkModel, f: WindowFeatures, m: number): Record<Arm, Float32Array> {
  const { model } = w.fitted;
  const scores = (vecs: Float32Array): Float32Array => {
    const s = tf.tidy(() => tf.matMul(tf.tensor2d(vecs, [m, w.dim]), w.itemT, false, true));
    const out = s.dataSync() as Float32Array;
    s.dispose();
    return out;
  };
  const baseline = scores(embedUsers(model, f.inputs, w.cfg));
  const incremental = f.overridden.some((x) => x === 1)
    ? scores(embedUsers(model, f.inputs, w.cfg, { rows: f.rows, overridden: f.overridden }))
    : baseline;
  return { baseline, incremental };
}

/**
 * Ranks in event order: each event excludes the items seen before it (not the window's later
 * ones); a repeat is counted, not scored. `scores` are [events, items.ids.length].
 */
export function rankWindow(
  events: readonly Interaction[],
  users: Map<string, UserState>,
  scores: Record<Arm, Float32Array>,
  items: { ids: readonly string[]; rowOf: Map<string, number> },
  trainedItem: { has(item: string): boolean },
  tally: Tally,
): void {
  const n = items.ids.length;
  events.forEach((e, k) => {
    const st = users.get(e.user) as UserState;
    const target = items.rowOf.get(e.item) ?? -1;
    if (st.seen.has(target)) {
      tally.repeats++;
      return;
    }
    tally.evaluated++;
    if (!st.known) tally.newUserEvents++;
    if (!trainedItem.has(e.item)) tally.coldItemEvents++;
    for (const [arm, all] of [
      ['baseline', scores.baseline],
      ['incremental', scores.incremental],
    ] as const) {
      const top = rankTopK(all.subarray(k * n, (k + 1) * n), MAX_CUTOFF, st.seen);
      const ids = top.map((r) => items.ids[r] as string);
      tally.arms[arm].add(ids, e.item);
      if (!st.known) tally.newArms[arm].add(ids, e.item);
      const at = ids.indexOf(e.item);
      if (at >= 0 && at < 50) {
        tally.hits50[arm]++;
        tally.userGain.set(e.user, (tally.userGain.get(e.user) ?? 0) + (arm === 'incremental' ? 1 : -1));
      } else if (!tally.userGain.has(e.user)) tally.userGain.set(e.user, 0);
    }
    st.seen.add(target);
  });
}

/**
 * The window's micro-batch: one update per user, in first-appearance order, with the user's
 * history as of the window's start (the last `seqLen` items) and the window's events.
 */
export function windowUpdates(
  events: readonly Interaction[],
  state: WalkState,
  firstLen: Map<string, number>,
  seqLen: number,
): { batch: UserUpdate[]; order: string[] } {
  const batch: UserUpdate[] = [];
  const order: string[] = [];
  const byUser = new Map<string, Behaviour[]>();
  for (const e of events) {
    const list = byUser.get(e.user);
    if (list) list.push({ itemId: e.item, ts: e.ts });
    else byUser.set(e.user, [{ itemId: e.item, ts: e.ts }]);
  }
  for (const [user, evs] of byUser) {
    const st = state.users.get(user) as UserState;
    const from = firstLen.get(user) as number;
    const lo = Math.max(0, from - seqLen);
    batch.push({
      userId: user,
      idRow: state.moved.get(user),
      profile: st.profile,
      history: st.items.slice(lo, from).map((itemId, j) => ({
        itemId,
        ts: (st.hist[lo + j] as HistoryEntry).ts,
      })),
      events: evs,
    });
    order.push(user);
  }
  return { batch, order };
}

/** Keeps the updated rows for the next windows and adds the update's statistics to the tally. */
export function recordUpdates(
  tally: Tally,
  moved: Map<string, Float32Array>,
  order: readonly string[],
  r: UpdateResult,
): void {
  r.rows.forEach((row, i) => {
    moved.set(order[i] as string, row);
  });
  tally.windows++;
  tally.userUpdates += order.length;
  tally.stepNormSum += r.stats.meanStepNorm * r.stats.steps * r.stats.activeUsers;
  tally.rowSteps += r.stats.steps * r.stats.activeUsers;
  tally.clipped += r.stats.clipped;
  tally.projected += r.stats.projected;
}

/** Cumulative HR@50 of each arm so far. */
export function hitRates(tally: Tally): { baseline: number; incremental: number } {
  return {
    baseline: tally.hits50.baseline / Math.max(1, tally.evaluated),
    incremental: tally.hits50.incremental / Math.max(1, tally.evaluated),
  };
}

/**
 * A point of the HR@50 curves once `walked` events passed the next mark (and always at the
 * end), unless no event was evaluated since the last point.
 */
export function markCurve(tally: Tally, walked: number, total: number): void {
  const lastPoint = tally.curve.at(-1)?.events ?? 0;
  if (tally.evaluated > lastPoint && (walked >= tally.nextMark || walked === total)) {
    tally.curve.push({ events: tally.evaluated, ...hitRates(tally) });
    while (tally.nextMark <= walked) tally.nextMark += tally.every;
  }
}

/** Test users by the sign of their incremental-minus-baseline hits@50. */
export function userSigns(userGain: Map<string, number>): { better: number; worse: number; same: number } {
  return {
    better: [...userGain.values()].filter((g) => g > 0).length,
    worse: [...userGain.values()].filter((g) => g < 0).length,
    same: [...userGain.values()].filter((g) => g === 0).length,
  };
}

/** The updates' part of the report: means over row steps (0 when no row stepped). */
export function updateSummary(
  tally: Tally,
  window: number,
  maxRowNorm: number,
  config: IncrementalConfig,
): PrequentialReport['updates'] {
  return {
    windows: tally.windows,
    window,
    userUpdates: tally.userUpdates,
    meanStepNorm: tally.rowSteps === 0 ? 0 : tally.stepNormSum / tally.rowSteps,
    clippedShare: tally.rowSteps === 0 ? 0 : tally.clipped / tally.rowSteps,
    projected: tally.projected,
    maxRowNorm,
    config,
  };
}
