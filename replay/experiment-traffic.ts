import { compareInteractions } from '../model/data/order.js';
import { seededRandom, shuffleInPlace } from '../model/data/random.js';
import type { Dataset, Interaction } from '../model/data/types.js';
import { ExitCode, UserFacingError } from '../runtime/errors.js';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import type { IngestClient } from './client.js';
import { behaviourEvents } from './events.js';

// Simulated users for an experiment on live traffic (DESIGN.md §9): each asks the recall API for
// an answer, then does what they really did next in the dataset. Their next interactions are
// held out of everything the models and the stores saw, so an event lands on a shown item
// exactly when the answering model ranked it: users engage with what they were shown more
// often than chance, and more so with a better model, without the driver ever deciding
// anything from the answer (nor from the arm, which it only records).

/** A dataset split for simulation: each user's last `n` interactions held out as what they do next. */
export interface NextSplit {
  /** Every interaction but the held-out ones, in the dataset's order. */
  past: Interaction[];
  /** Per user with more than `n` interactions: their last `n`, in time order. */
  next: Map<string, Interaction[]>;
}

/**
 * Leave-last-`n`-out per user (time order of model/data/order.ts). Users with `n` or fewer
 * interactions keep them all in `past` and do nothing next: they would have no history to be
 * recommended from.
 */
export function holdOutNext(ds: Dataset, n: number): NextSplit {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a positive integer, got ${n}`);
  const byUser = new Map<string, Interaction[]>();
  for (const x of ds.interactions) {
    const list = byUser.get(x.user);
    if (list) list.push(x);
    else byUser.set(x.user, [x]);
  }
  const held = new Set<Interaction>();
  const next = new Map<string, Interaction[]>();
  for (const [user, list] of byUser) {
    if (list.length <= n) continue;
    const last = [...list].sort(compareInteractions).slice(-n);
    next.set(user, last);
    for (const x of last) held.add(x);
  }
  return { past: ds.interactions.filter((x) => !held.has(x)), next };
}

/** One simulated user: who, and the interactions they will post after their answer, in order. */
export interface SimulatedUser {
  user: string;
  next: readonly Interaction[];
}

/** What a simulated user was shown (the recall API's answer as it came). */
export interface ShownAnswer {
  user: string;
  request_id: string;
  experiment: string | null;
  arm: string | null;
  model_version: string | null;
  source: string;
  items: string[];
}

/** Users, events and hits as the simulated users saw them, per arm (`-` outside an experiment). */
export interface ArmTally {
  users: number;
  events: number;
  /** Events whose item was in the answer the user was shown. */
  hits: number;
}

export interface TrafficOptions {
  recall: { url: string; key: string };
  /**
   * The experiment the answers must come from. An answer outside it (a recall API that has not
   * seen the start yet: its exposure counts for no arm) is asked again, for up to 5 s.
   */
  experiment?: string;
  /** Items asked per answer (keep it within EXPERIMENT_EXPOSURE_ITEMS: further ones are not joined). */
  k: number;
  /** Seeds the order in which users arrive. */
  seed: number;
  /** Users asked before their events are posted (default 100). */
  round?: number;
  /** Recall requests in flight (default 4). */
  concurrency?: number;
  /** Per recall request (default 10 s). */
  timeoutMs?: number;
  /**
   * Called after each round's answers, with how many answers this run got so far, before the
   * round's events are posted; resolve once those exposures were consumed (the experiments
   * processor joins an event only to exposures it has seen: docs/operations.md, ordering).
   */
  settle?: (answered: number) => Promise<void>;
  onProgress?: (users: number, total: number) => void;
  /** Event time of the posted events (default: the wall clock when posted). */
  now?: () => number;
}

export interface TrafficResult {
  users: number;
  /** Behaviour events posted. */
  events: number;
  answers: ShownAnswer[];
  byArm: Record<string, ArmTally>;
  seconds: number;
}

/** The recall API's answer fields the driver reads. */
interface RecallBody {
  request_id: string;
  experiment: string | null;
  arm: string | null;
  model_version: string | null;
  source: string;
  items: { item_id: string }[];
}

/** How long an answer outside `experiment` is asked again. */
const START_WAIT_MS = 5000;

async function ask(o: TrafficOptions, user: string): Promise<ShownAnswer> {
  const end = Date.now() + START_WAIT_MS;
  for (;;) {
    const a = await askOnce(o, user);
    if (o.experiment === undefined || a.experiment === o.experiment) return a;
    if (Date.now() > end)
      throw new UserFacingError({
        cause: `the recall API still answers user ${user} outside experiment ${o.experiment} (${a.experiment ?? 'none'}) ${START_WAIT_MS / 1000} s on`,
        fix: '`towerflow experiment status` says whether it runs; the recall API logs the experiments it reads',
        exitCode: ExitCode.UNAVAILABLE,
      });
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function askOnce(o: TrafficOptions, user: string): Promise<ShownAnswer> {
  const url = `${o.recall.url}/v1/recall?user_id=${encodeURIComponent(user)}&k=${o.k}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${o.recall.key}` },
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
  } catch (e) {
    throw new UserFacingError({
      cause: `the recall API at ${o.recall.url} did not answer (${(e as Error).message})`,
      fix: 'start it with `towerflow apps up serve`',
      exitCode: ExitCode.UNAVAILABLE,
    });
  }
  const text = await res.text();
  if (res.status !== 200)
    throw new UserFacingError({
      cause: `the recall API answered ${res.status} for user ${user}: ${text.slice(0, 300)}`,
      fix: 'see its log (`towerflow apps status` lists the processes)',
      exitCode: ExitCode.UNAVAILABLE,
    });
  const b = JSON.parse(text) as RecallBody;
  return {
    user,
    request_id: b.request_id,
    experiment: b.experiment,
    arm: b.arm,
    model_version: b.model_version,
    source: b.source,
    items: b.items.map((i) => i.item_id),
  };
}

/** `fn` over `xs` with at most `limit` calls in flight; results in input order. */
async function pooled<T, R>(xs: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < xs.length; i = next++) out[i] = await fn(xs[i] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, xs.length)) }, worker));
  return out;
}

/**
 * Each user, in a seeded order and `round` at a time: GET /v1/recall (the user's answer, from
 * whichever arm serves them), then, once `settle` says the answers' exposures were consumed,
 * their next interactions posted through the ingest API as happening now (event ids as a replay
 * of the dataset would give them, so posting them twice is a no-op downstream).
 */
export async function simulateUsers(
  ds: Dataset,
  users: readonly SimulatedUser[],
  ingest: IngestClient,
  o: TrafficOptions,
): Promise<TrafficResult> {
  const t0 = performance.now();
  const order = Array.from({ length: users.length }, (_, i) => i);
  shuffleInPlace(order, seededRandom(o.seed));
  const round = Math.max(1, o.round ?? 100);
  const now = o.now ?? Date.now;
  const answers: ShownAnswer[] = [];
  const byArm: Record<string, ArmTally> = {};
  let events = 0;
  for (let r = 0; r < order.length; r += round) {
    const batch = order.slice(r, r + round).map((i) => users[i] as SimulatedUser);
    const shown = await pooled(batch, o.concurrency ?? 4, (u) => ask(o, u.user));
    answers.push(...shown);
    await o.settle?.(answers.length);
    const posted: BehaviourEvent[] = [];
    const at = now();
    batch.forEach((u, i) => {
      const answer = shown[i] as ShownAnswer;
      const seen = new Set(answer.items);
      const arm = answer.arm ?? '-';
      const tally = byArm[arm] ?? { users: 0, events: 0, hits: 0 };
      byArm[arm] = tally;
      tally.users++;
      // a user's events keep their order, a millisecond apart, after the answer
      behaviourEvents(ds, [...u.next]).forEach((e, j) => {
        posted.push({ ...e, ts: at + j });
        tally.events++;
        if (seen.has(e.item_id)) tally.hits++;
      });
    });
    for (let i = 0; i < posted.length; i += 1000) await ingest.post('/v1/events', posted.slice(i, i + 1000));
    events += posted.length;
    o.onProgress?.(answers.length, users.length);
  }
  return { users: answers.length, events, answers, byArm, seconds: (performance.now() - t0) / 1000 };
}
