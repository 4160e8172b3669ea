import { compareInteractions } from '../data/order.js';
import type { Dataset, Interaction } from '../data/types.js';
import { DEFAULT_INCREMENTAL, type IncrementalConfig } from '../incremental.js';
import { type FitOptions, type Fitted, fitTwoTower } from '../pipeline.js';
import {
  armScores,
  closeWalkModel,
  hitRates,
  markCurve,
  newTally,
  openWalkModel,
  pick,
  type Reported,
  rankWindow,
  recordUpdates,
  type Tally,
  trainingUsers,
  updateSummary,
  userSigns,
  windowFeatures,
  windowUpdates,
} from './prequential-walk.js';

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
  const w = openWalkModel(fitted, incCfg);
  const state = trainingUsers(ds, split.train, fitted);
  const tally = newTally(split.test.length, opts.curvePoints);
  const total = split.test.length;
  try {
    for (let start = 0; start < total; start += window) {
      const events = split.test.slice(start, start + window);
      // every event is ranked with the ID rows as of the window's start, then the rows move
      const features = windowFeatures(ds, w, state, events, tally);
      const scores = armScores(w, features, events.length);
      rankWindow(events, state.users, scores, fitted.items, fitted.vocab.items, tally);
      const { batch, order } = windowUpdates(events, state, features.firstLen, w.cfg.seqLen);
      recordUpdates(tally, state.moved, order, w.updater.update(batch));
      const walked = start + events.length;
      markCurve(tally, walked, total);
      opts.onProgress?.({ done: walked, total, ...hitRates(tally) });
    }
  } finally {
    closeWalkModel(w);
  }
  return prequentialReport(
    ds,
    split,
    fitted,
    tally,
    updateSummary(tally, window, w.updater.maxRowNorm, incCfg),
  );
}

function prequentialReport(
  ds: Dataset,
  split: ReturnType<typeof timeSplit>,
  fitted: Fitted,
  tally: Tally,
  updates: PrequentialReport['updates'],
): Omit<PrequentialReport, 'seconds'> {
  const r = fitted.result;
  return {
    dataset: ds.name,
    split: {
      trainRows: split.train.length,
      testRows: split.test.length,
      cutTs: split.cutTs,
      corpusItems: fitted.items.ids.length,
    },
    events: {
      total: split.test.length,
      evaluated: tally.evaluated,
      repeats: tally.repeats,
      testUsers: tally.testUsers.size,
      newUsers: tally.newUsers.size,
      newUserEvents: tally.newUserEvents,
      coldItemEvents: tally.coldItemEvents,
    },
    models: {
      baseline: pick(tally.arms.baseline.result().metrics),
      incremental: pick(tally.arms.incremental.result().metrics),
    },
    newUsers: {
      baseline: pick(tally.newArms.baseline.result().metrics),
      incremental: pick(tally.newArms.incremental.result().metrics),
    },
    usersHR50: userSigns(tally.userGain),
    curve: tally.curve,
    updates,
    training: {
      samples: r.samples,
      seconds: r.seconds,
      samplesPerSecond: r.samplesPerSecond,
      epochs: fitted.trainConfig.epochs,
    },
  };
}
