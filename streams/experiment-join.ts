import type { Attribution } from '../stores/experiments/index.js';
import {
  byTimeThen,
  type Claim,
  type JoinEvent,
  type JoinExposure,
  type UserJoinState,
} from '../stores/experiments/join-state.js';

// The experiments processor's join (DESIGN.md §9), as pure functions: a symmetric window join of
// behaviour events and exposures by user. An event is attributed to each arm the user was shown
// an answer of in the window before it (event time), whichever of the two Kafka topics brought
// its record first:
// - an event that arrives after its exposures joins them then (the event's own row);
// - an exposure that arrives after events of its window joins those events then (rows of the
//   exposure): each event is counted at most once per arm, however many exposures of the arm
//   come late.
// Hit and position are the same either way: the item's position in the arm's exposure the user
// saw last before the event among those that hold it (latest time, ties to the smaller request
// id), else a miss. An exposure that comes late and is that exposure for an event already
// counted for the arm changes what the event counts: a miss becomes a hit, or the hit moves to
// the new position (a row with `before`). So once both topics are through, every event counts
// what it would have had every exposure arrived first.
// An experiment counts only events of while it ran: an event at or after its end (`Endings`) joins
// none of its exposures, whichever topic came first, so an ended experiment's report is final.

export interface JoinSettings {
  /** An event joins the exposures of at most this long before it (ms, event time). */
  windowMs: number;
  /** Most exposures kept per user (the newest). */
  exposuresPerUser: number;
  /** Most events kept per user (the newest), for exposures that arrive after them. */
  eventsPerUser: number;
  /** Most items kept per exposure (the top ones). */
  items: number;
}

/**
 * When each ended experiment of the batch ended (ms, its `endedAt`): an experiment absent runs.
 * An end never moves once set, so a join that knows it decides each event the same every time.
 */
export type Endings = ReadonlyMap<string, number>;

/** Whether the experiment still ran at the event's time. */
const ranAt = (ended: Endings, experiment: string, eventTs: number): boolean =>
  eventTs < (ended.get(experiment) ?? Number.POSITIVE_INFINITY);

export type JoinRecord =
  | { kind: 'exposure'; offset: number; user_id: string; exposure: JoinExposure }
  | { kind: 'event'; offset: number; user_id: string; event: Omit<JoinEvent, 'claims'> };

export interface JoinOutcome {
  /** The new state of each user whose state changed. */
  states: Map<string, UserJoinState>;
  /** Count changes, in record order (ascending offsets). */
  rows: Attribution[];
  /** Exposures new to the join (not a copy of one kept), and whether events of their window had come first. */
  kept: { user_id: string; exposure: JoinExposure; late: boolean }[];
}

/** The exposure the user saw last of two (later, then the smaller request id): its list is the one that counts. */
export const seenLater = (
  a: { ts: number; request_id: string },
  b: { ts: number; request_id: string },
): boolean => a.ts > b.ts || (a.ts === b.ts && a.request_id < b.request_id);

const inWindow = (exposureTs: number, eventTs: number, windowMs: number): boolean =>
  exposureTs <= eventTs && eventTs - exposureTs <= windowMs;

/**
 * What an event counts for each arm the user was shown in its window, from the exposures given
 * (oldest first): one claim per (experiment, arm), in the order their first exposure appears.
 */
export function claimsOf(
  exposures: readonly JoinExposure[],
  event: { ts: number; item_id: string },
  windowMs: number,
  ended: Endings = new Map(),
): Claim[] {
  const arms = new Map<string, Claim>();
  for (const x of exposures) {
    if (!inWindow(x.ts, event.ts, windowMs) || !ranAt(ended, x.experiment, event.ts)) continue;
    const key = `${x.experiment}\0${x.arm}`;
    const c = arms.get(key) ?? { experiment: x.experiment, arm: x.arm, position: 0 };
    arms.set(key, c);
    const at = x.items.indexOf(event.item_id);
    if (at >= 0 && (!c.source || seenLater(x, c.source))) {
      c.position = at + 1;
      c.source = { ts: x.ts, request_id: x.request_id };
    }
  }
  return [...arms.values()];
}

const row = (offset: number, user_id: string, e: { ts: number }, c: Claim, before?: number): Attribution => ({
  offset,
  experiment: c.experiment,
  arm: c.arm,
  user_id,
  ts: e.ts,
  position: c.position,
  ...(before === undefined ? {} : { before }),
});

/**
 * A new event of the user: kept, and attributed to the arms of the exposures already there whose
 * experiment still ran at its time. Undefined when it is a copy of an event kept (the same event id: a producer's retry).
 */
export function addEvent(
  state: UserJoinState,
  offset: number,
  user_id: string,
  event: Omit<JoinEvent, 'claims'>,
  s: JoinSettings,
  ended: Endings = new Map(),
): Attribution[] | undefined {
  if (state.events.some((e) => e.event_id === event.event_id)) return undefined;
  const claims = claimsOf(state.exposures, event, s.windowMs, ended);
  state.events.push({ ...event, claims });
  state.events.sort(byTimeThen((e) => e.event_id));
  trim(state, s);
  return claims.map((c) => row(offset, user_id, event, c));
}

/**
 * A new exposure of the user: kept, and joined to the user's events of its window that came
 * before it while its experiment still ran. Undefined when it is a copy of an exposure kept (the same request id).
 */
export function addExposure(
  state: UserJoinState,
  offset: number,
  user_id: string,
  exposure: JoinExposure,
  s: JoinSettings,
  ended: Endings = new Map(),
): { rows: Attribution[]; late: boolean } | undefined {
  if (state.exposures.some((x) => x.request_id === exposure.request_id)) return undefined;
  const x = { ...exposure, items: exposure.items.slice(0, s.items) };
  state.exposures.push(x);
  state.exposures.sort(byTimeThen((e) => e.request_id));
  const rows: Attribution[] = [];
  let late = false;
  for (const e of state.events) {
    if (!inWindow(x.ts, e.ts, s.windowMs) || !ranAt(ended, x.experiment, e.ts)) continue;
    late = true;
    const c = e.claims.find((c) => c.experiment === x.experiment && c.arm === x.arm);
    if (!c) {
      // not counted for this arm yet: as the event would have been, had its exposures come first
      const mine = state.exposures.filter((o) => o.experiment === x.experiment && o.arm === x.arm);
      const [claim] = claimsOf(mine, e, s.windowMs, ended) as [Claim];
      e.claims.push(claim);
      rows.push(row(offset, user_id, e, claim));
      continue;
    }
    const at = x.items.indexOf(e.item_id);
    if (at < 0 || (c.source && !seenLater(x, c.source))) continue;
    const before = c.position;
    c.position = at + 1;
    c.source = { ts: x.ts, request_id: x.request_id };
    if (before !== c.position) rows.push(row(offset, user_id, e, c, before));
  }
  trim(state, s);
  return { rows, late };
}

/**
 * Keeps a user's state bounded. Exposures: those of the window before the newest one (their
 * times are the recall API's clock), at most `exposuresPerUser`. Events: those an exposure can
 * still join, at most `eventsPerUser`. An exposure joins events at or after its time, so an
 * event before the newest exposure's time less one window (room for exposures written out of
 * order) is done; bounding events by the newest event instead would drop them when the exposure
 * topic is consumed more than one window behind the behaviour topic (a catch-up), and would let
 * an event's own time (the client's) drop the others.
 */
export function trim(state: UserJoinState, s: JoinSettings): void {
  const newestExposure = state.exposures.at(-1)?.ts;
  if (newestExposure !== undefined) {
    const from = newestExposure - s.windowMs;
    state.exposures = state.exposures.filter((x) => x.ts >= from);
    state.events = state.events.filter((e) => e.ts >= from);
  }
  state.exposures = state.exposures.slice(-s.exposuresPerUser);
  state.events = state.events.slice(-s.eventsPerUser);
}

const copyState = (s: UserJoinState | undefined): UserJoinState => ({
  exposures: (s?.exposures ?? []).map((x) => ({ ...x })),
  events: (s?.events ?? []).map((e) => ({
    ...e,
    claims: e.claims.map((c) => ({ ...c, ...(c.source ? { source: { ...c.source } } : {}) })),
  })),
});

/**
 * One batch of one partition against the users' states as read (left untouched): each record in
 * order, as if each were joined alone. `ended` must know the end of every ended experiment the
 * records' and states' exposures name (experimentsOf).
 */
export function joinBatch(
  records: readonly JoinRecord[],
  before: ReadonlyMap<string, UserJoinState>,
  s: JoinSettings,
  ended: Endings = new Map(),
): JoinOutcome {
  const states = new Map<string, UserJoinState>();
  const out: JoinOutcome = { states, rows: [], kept: [] };
  for (const r of records) {
    let state = states.get(r.user_id);
    if (!state) {
      state = copyState(before.get(r.user_id));
      states.set(r.user_id, state);
    }
    if (r.kind === 'event') out.rows.push(...(addEvent(state, r.offset, r.user_id, r.event, s, ended) ?? []));
    else {
      const done = addExposure(state, r.offset, r.user_id, r.exposure, s, ended);
      if (!done) continue;
      out.rows.push(...done.rows);
      out.kept.push({ user_id: r.user_id, exposure: r.exposure, late: done.late });
    }
  }
  return out;
}

/** The experiments a batch's join can attribute to: those of its exposures and of its users' kept ones. */
export function experimentsOf(
  records: readonly JoinRecord[],
  states: Iterable<UserJoinState | undefined>,
): Set<string> {
  const out = new Set<string>();
  for (const r of records) if (r.kind === 'exposure') out.add(r.exposure.experiment);
  for (const st of states) for (const x of st?.exposures ?? []) out.add(x.experiment);
  return out;
}
