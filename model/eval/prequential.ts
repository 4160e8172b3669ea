import { compareInteractions } from '../data/order.js';
import type { Dataset, Interaction } from '../data/types.js';
import {
  allocUserInputs,
  fillUserRow,
  type HistoryEntry,
  userCategoricalIndices,
  userSideLayout,
} from '../features.js';
import {
  type Behaviour,
  DEFAULT_INCREMENTAL,
  IdRowUpdater,
  type IncrementalConfig,
  type UserUpdate,
} from '../incremental.js';
import { type FitOptions, type Fitted, fitTwoTower } from '../pipeline.js';
import { byUserInTimeOrder } from '../samples.js';
import { tf } from '../tf.js';
import { embedAllItems, embedUsers } from '../towers.js';
import { MAX_CUTOFF, MetricAccumulator, type MetricName, rankTopK } from './metrics.js';

/**
 * Prequential ("test then train") evaluation of the incremental ID-row updates: fit the towers
 * on the first part of the data by time, then walk the rest in time order. Every event is first
 * ranked against (exact top-100 over all live item vectors, the user's earlier items excluded,
 * as in leave-last-out), then applied. Two arms share everything but the ID rows:
 * - baseline: the event only joins the user's history (the sequence features move);
 * - incremental: the same, and the user's ID row takes the updater's steps.
 *
 * Events go in windows of `window` consecutive events, like the stream updater's micro-batches:
 * every event of a window is ranked with the ID rows as of the window's start, then the window's
 * updates are applied at once. The history moves per event in both arms (the sequence cache is
 * updated within milliseconds; the ID updater lags by a micro-batch), so within a window an
 * event's history includes the window's earlier events. A smaller window is a fresher updater.
 */

export interface PrequentialOptions {
  fit?: FitOptions;
  /** Share of the interactions, earliest first, that trains the towers. */
  trainFraction?: number;
  /** Events ranked before their window's ID updates are applied. */
  window?: number;
  incremental?: Partial<IncrementalConfig>;
  /** Points of the cumulative HR@50 curves (evenly spaced in walked events). */
  curvePoints?: number;
  onProgress?: (p: { done: number; total: number; baseline: number; incremental: number }) => void;
}

export const DEFAULT_WINDOW = 64;

const REPORTED = ['HR@10', 'HR@50', 'HR@100', 'NDCG@10', 'NDCG@50'] as const satisfies readonly MetricName[];
type Reported = Record<(typeof REPORTED)[number], number>;

export interface PrequentialReport {
  dataset: string;
  split: { trainRows: number; testRows: number; cutTs: number; corpusItems: number };
  events: {
    /** Test-part events, all applied. */
    total: number;
    /** Ranked: every event except repeats. */
    evaluated: number;
    /** Items the user had already interacted with: excluded from their ranking, so not scored. */
    repeats: number;
    testUsers: number;
    /** Test-part users without a training row: they start from the OOV ID row. */
    newUsers: number;
    newUserEvents: number;
    /** Evaluated events whose item had no training row (no trained item-ID row). */
    coldItemEvents: number;
  };
  models: { baseline: Reported; incremental: Reported };
  /** The same metrics on the events of new users only. */
  newUsers: { baseline: Reported; incremental: Reported };
  /**
   * Test users by their own HR@50, incremental vs baseline (a paired view: the events of one user
   * are not independent, so this sign count says more about significance than the event count).
   */
  usersHR50: { better: number; worse: number; same: number };
  /** Cumulative HR@50 after `events` evaluated events. */
  curve: { events: number; baseline: number; incremental: number }[];
  updates: {
    windows: number;
    window: number;
    userUpdates: number;
    meanStepNorm: number;
    clippedShare: number;
    projected: number;
    maxRowNorm: number;
    config: IncrementalConfig;
  };
  training: { samples: number; seconds: number; samplesPerSecond: number; epochs: number };
  seconds: { fit: number; walk: number };
}

/**
 * Rows in (ts, key, user) order (model/data/order.ts; file order never matters), cut after
 * `fraction` of them; the cut moves forward past rows sharing the last training timestamp so
 * that the parts are strictly ordered in time.
 */
export function timeSplit(
  rows: readonly Interaction[],
  fraction: number,
): { train: Interaction[]; test: Interaction[]; cutTs: number } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError('the training fraction must be in (0, 1)');
  const sorted = [...rows].sort(compareInteractions);
  let cut = Math.max(1, Math.floor(sorted.length * fraction));
  while (cut < sorted.length && (sorted[cut] as Interaction).ts === (sorted[cut - 1] as Interaction).ts)
    cut++;
  return {
    train: sorted.slice(0, cut),
    test: sorted.slice(cut),
    cutTs: (sorted[cut - 1] as Interaction | undefined)?.ts ?? 0,
  };
}

interface UserState {
  hist: HistoryEntry[];
  items: string[];
  seen: Set<number>;
  cat: number[];
  profile: Record<string, string>;
  known: boolean;
}

function pick(m: Record<MetricName, number>): Reported {
  return Object.fromEntries(REPORTED.map((k) => [k, m[k]])) as Reported;
}

export async function runPrequential(ds: Dataset, opts: PrequentialOptions = {}): Promise<PrequentialReport> {
  const split = timeSplit(ds.interactions, opts.trainFraction ?? 0.8);
  const t0 = performance.now();
  const fitted = await fitTwoTower(ds, split.train, opts.fit ?? {});
  const fitSeconds = (performance.now() - t0) / 1000;
  try {
    const t1 = performance.now();
    const report = walkPrequential(ds, split, fitted, opts);
    return { ...report, seconds: { fit: fitSeconds, walk: (performance.now() - t1) / 1000 } };
  } finally {
    fitted.model.dispose();
  }
}

/** The walk over the test part with an already fitted model (which it leaves unchanged). */
export function walkPrequential(
  ds: Dataset,
  split: ReturnType<typeof timeSplit>,
  fitted: Fitted,
  opts: PrequentialOptions = {},
): Omit<PrequentialReport, 'seconds'> {
  const window = Math.max(1, opts.window ?? DEFAULT_WINDOW);
  const incCfg: IncrementalConfig = { ...DEFAULT_INCREMENTAL, ...opts.incremental };
  const { model, vocab, features: cfg, items } = fitted;
  const dim = model.towers.outDim;
  const idDim = model.towers.idDim;
  const n = items.ids.length;
  const itemVecs = embedAllItems(model, fitted.itemFeatures);
  const itemT = tf.tensor2d(itemVecs, [n, dim]);
  const updater = new IdRowUpdater(
    { model, vocab, features: cfg },
    { vectors: itemVecs, rowOf: items.rowOf },
    incCfg,
  );
  const layout = userSideLayout(vocab, cfg);

  const users = new Map<string, UserState>();
  for (const [user, rows] of byUserInTimeOrder(split.train))
    users.set(user, {
      hist: rows.map((r) => ({ itemIdx: vocab.items.lookup(r.item), ts: r.ts })),
      items: rows.map((r) => r.item),
      seen: new Set(rows.map((r) => items.rowOf.get(r.item) ?? -1)),
      cat: userCategoricalIndices(ds, user, vocab, cfg),
      profile: { ...ds.users.get(user)?.categorical },
      known: true,
    });
  const stateOf = (user: string): UserState => {
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
  };

  const arms = { baseline: new MetricAccumulator(), incremental: new MetricAccumulator() };
  const newArms = { baseline: new MetricAccumulator(), incremental: new MetricAccumulator() };
  const hits50 = { baseline: 0, incremental: 0 };
  // per user: incremental hits@50 minus baseline hits@50
  const userGain = new Map<string, number>();
  const moved = new Map<string, Float32Array>();
  const testUsers = new Set<string>();
  const newUsers = new Set<string>();
  const curve: PrequentialReport['curve'] = [];
  const every = Math.max(1, Math.ceil(split.test.length / (opts.curvePoints ?? 20)));
  let nextMark = every;
  let evaluated = 0;
  let repeats = 0;
  let newUserEvents = 0;
  let coldItemEvents = 0;
  let windows = 0;
  let userUpdates = 0;
  let stepNormSum = 0;
  let rowSteps = 0;
  let clipped = 0;
  let projected = 0;

  const scores = (vecs: Float32Array, m: number): Float32Array => {
    const s = tf.tidy(() => tf.matMul(tf.tensor2d(vecs, [m, dim]), itemT, false, true));
    const out = s.dataSync() as Float32Array;
    s.dispose();
    return out;
  };

  try {
    for (let start = 0; start < split.test.length; start += window) {
      const events = split.test.slice(start, start + window);
      const m = events.length;
      // features of every event as of just before it; the history moves per event
      const inputs = allocUserInputs(m, cfg);
      const rows = new Float32Array(m * idDim);
      const overridden = new Uint8Array(m);
      const firstLen = new Map<string, number>();
      events.forEach((e, k) => {
        const st = stateOf(e.user);
        testUsers.add(e.user);
        if (!st.known) newUsers.add(e.user);
        if (!firstLen.has(e.user)) firstLen.set(e.user, st.hist.length);
        fillUserRow(
          inputs,
          k,
          cfg,
          layout,
          vocab.users.lookup(e.user),
          st.cat,
          e.ts,
          st.hist,
          st.hist.length,
        );
        st.hist.push({ itemIdx: vocab.items.lookup(e.item), ts: e.ts });
        st.items.push(e.item);
        const row = moved.get(e.user);
        if (row) {
          rows.set(row, k * idDim);
          overridden[k] = 1;
        }
      });
      const base = scores(embedUsers(model, inputs, cfg), m);
      const incr = overridden.some((x) => x === 1)
        ? scores(embedUsers(model, inputs, cfg, { rows, overridden }), m)
        : base;

      // rank in event order: each event excludes the items seen before it (not the window's later ones)
      events.forEach((e, k) => {
        const st = users.get(e.user) as UserState;
        const target = items.rowOf.get(e.item) ?? -1;
        if (st.seen.has(target)) {
          repeats++;
          return;
        }
        evaluated++;
        if (!st.known) newUserEvents++;
        if (!vocab.items.has(e.item)) coldItemEvents++;
        for (const [arm, all] of [
          ['baseline', base],
          ['incremental', incr],
        ] as const) {
          const top = rankTopK(all.subarray(k * n, (k + 1) * n), MAX_CUTOFF, st.seen);
          const ids = top.map((r) => items.ids[r] as string);
          arms[arm].add(ids, e.item);
          if (!st.known) newArms[arm].add(ids, e.item);
          const at = ids.indexOf(e.item);
          if (at >= 0 && at < 50) {
            hits50[arm]++;
            userGain.set(e.user, (userGain.get(e.user) ?? 0) + (arm === 'incremental' ? 1 : -1));
          } else if (!userGain.has(e.user)) userGain.set(e.user, 0);
        }
        st.seen.add(target);
      });

      // then the window's ID updates, one micro-batch
      const batch: UserUpdate[] = [];
      const order: string[] = [];
      const byUser = new Map<string, Behaviour[]>();
      for (const e of events) {
        const list = byUser.get(e.user);
        if (list) list.push({ itemId: e.item, ts: e.ts });
        else byUser.set(e.user, [{ itemId: e.item, ts: e.ts }]);
      }
      for (const [user, evs] of byUser) {
        const st = users.get(user) as UserState;
        const from = firstLen.get(user) as number;
        const lo = Math.max(0, from - cfg.seqLen);
        batch.push({
          userId: user,
          idRow: moved.get(user),
          profile: st.profile,
          history: st.items.slice(lo, from).map((itemId, j) => ({
            itemId,
            ts: (st.hist[lo + j] as HistoryEntry).ts,
          })),
          events: evs,
        });
        order.push(user);
      }
      const r = updater.update(batch);
      r.rows.forEach((row, i) => {
        moved.set(order[i] as string, row);
      });
      windows++;
      userUpdates += batch.length;
      stepNormSum += r.stats.meanStepNorm * r.stats.steps * r.stats.activeUsers;
      rowSteps += r.stats.steps * r.stats.activeUsers;
      clipped += r.stats.clipped;
      projected += r.stats.projected;

      const walked = start + m;
      const lastPoint = curve.at(-1)?.events ?? 0;
      if (evaluated > lastPoint && (walked >= nextMark || walked === split.test.length)) {
        curve.push({
          events: evaluated,
          baseline: hits50.baseline / Math.max(1, evaluated),
          incremental: hits50.incremental / Math.max(1, evaluated),
        });
        while (nextMark <= walked) nextMark += every;
      }
      opts.onProgress?.({
        done: walked,
        total: split.test.length,
        baseline: hits50.baseline / Math.max(1, evaluated),
        incremental: hits50.incremental / Math.max(1, evaluated),
      });
    }
  } finally {
    itemT.dispose();
    updater.dispose();
  }

  const r = fitted.result;
  return {
    dataset: ds.name,
    split: { trainRows: split.train.length, testRows: split.test.length, cutTs: split.cutTs, corpusItems: n },
    events: {
      total: split.test.length,
      evaluated,
      repeats,
      testUsers: testUsers.size,
      newUsers: newUsers.size,
      newUserEvents,
      coldItemEvents,
    },
    models: {
      baseline: pick(arms.baseline.result().metrics),
      incremental: pick(arms.incremental.result().metrics),
    },
    newUsers: {
      baseline: pick(newArms.baseline.result().metrics),
      incremental: pick(newArms.incremental.result().metrics),
    },
    usersHR50: {
      better: [...userGain.values()].filter((g) => g > 0).length,
      worse: [...userGain.values()].filter((g) => g < 0).length,
      same: [...userGain.values()].filter((g) => g === 0).length,
    },
    curve,
    updates: {
      windows,
      window,
      userUpdates,
      meanStepNorm: rowSteps === 0 ? 0 : stepNormSum / rowSteps,
      clippedShare: rowSteps === 0 ? 0 : clipped / rowSteps,
      projected,
      maxRowNorm: updater.maxRowNorm,
      config: incCfg,
    },
    training: {
      samples: r.samples,
      seconds: r.seconds,
      samplesPerSecond: r.samplesPerSecond,
      epochs: fitted.trainConfig.epochs,
    },
  };
}
