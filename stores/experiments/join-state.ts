import { ID_PATTERN, redisKey } from '../../clients/keys.js';
import type { Redis } from '../../clients/redis.js';

// Each user's side of the experiments processor's join (DESIGN.md §9): their recent exposures of
// experiments and their recent behaviour events with the arms each event was already counted for.
// Both sides are kept so the join is symmetric: an event joins the exposures that came before it,
// and an exposure that arrives after events of its window joins those events then.

export type StoredArm = 'control' | 'candidate';

/** One exposure of an experiment, as the join needs it. */
export interface JoinExposure {
  /** When the answer was given (Unix ms). */
  ts: number;
  request_id: string;
  experiment: string;
  arm: StoredArm;
  /** The answer's top items, best first (at most EXPERIMENT_EXPOSURE_ITEMS). */
  items: string[];
}

/** What an event counts for one arm: a hit at `position` (1-based) or a miss (0). */
export interface Claim {
  experiment: string;
  arm: StoredArm;
  position: number;
  /** The exposure the position was taken from (a hit only): a newer one holding the item replaces it. */
  source?: { ts: number; request_id: string };
}

/** One behaviour event of the user and what it counts for, per arm. */
export interface JoinEvent {
  /** Event time (Unix ms). */
  ts: number;
  event_id: string;
  item_id: string;
  claims: Claim[];
}

export interface UserJoinState {
  /** Oldest first (by time, then request id). */
  exposures: JoinExposure[];
  /** Oldest first (by time, then event id). */
  events: JoinEvent[];
}

/** A user's state as read, with the version a write must still find. */
export interface VersionedState {
  version: number;
  state: UserJoinState;
  /** The stored fields as read, so a write sends only what changed. */
  fields: ReadonlyMap<string, string>;
}

/**
 * A write of one user's state that applies only if the state is still at `version` (the
 * result store's commit checks it, writes, and sets version + 1). `set` is field, value pairs.
 */
export interface GuardedHashWrite {
  user_id: string;
  key: string;
  version: number;
  set: string[];
  del: string[];
  ttlSeconds: number;
}

/**
 * HASH of a user's join state: `x|{request}` → `{ts}|{experiment}|{arm}|{item},{item},…`,
 * `e|{event}` → `{ts}|{item}|{claim},{claim}…` with a claim `{experiment}:{arm}:{position}`
 * (a hit adds `:{source ts}:{source request}`), and `v`, the version every write raises.
 * One key per user, so each user's read-compute-write is checked against one version.
 */
export const joinStateKey = (userId: string): string => redisKey('exp', 'j', userId);

const VERSION = 'v';
const ARMS = new Set<string>(['control', 'candidate']);
const INT = /^(0|[1-9][0-9]{0,15})$/;

const id = (what: string, value: string): string => {
  if (!ID_PATTERN.test(value)) throw new Error(`${what} is not an id: ${JSON.stringify(value.slice(0, 40))}`);
  return value;
};
const arm = (value: string): StoredArm => {
  if (!ARMS.has(value)) throw new Error(`not an arm: ${JSON.stringify(value)}`);
  return value as StoredArm;
};
const time = (value: number): string => {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a time: ${value}`);
  return String(value);
};

/** The stored field and value of an exposure; `|`, `,` and `:` cannot occur in an id, so the parts stay apart. */
export function encodeExposure(e: JoinExposure): [string, string] {
  const items = e.items.map((i) => id('item', i)).join(',');
  return [
    `x|${id('request_id', e.request_id)}`,
    `${time(e.ts)}|${id('experiment', e.experiment)}|${arm(e.arm)}|${items}`,
  ];
}

export function encodeEvent(e: JoinEvent): [string, string] {
  const claims = e.claims.map((c) => {
    const head = `${id('experiment', c.experiment)}:${arm(c.arm)}:${time(c.position)}`;
    return c.source ? `${head}:${time(c.source.ts)}:${id('request_id', c.source.request_id)}` : head;
  });
  return [`e|${id('event_id', e.event_id)}`, `${time(e.ts)}|${id('item', e.item_id)}|${claims.join(',')}`];
}

/** A stored exposure back; undefined when it is not one (a foreign value is never trusted). */
export function decodeExposure(field: string, value: string): JoinExposure | undefined {
  const request_id = field.slice(2);
  const parts = value.split('|');
  if (!field.startsWith('x|') || !ID_PATTERN.test(request_id) || parts.length !== 4) return undefined;
  const [ts, experiment, a, list] = parts as [string, string, string, string];
  const items = list === '' ? [] : list.split(',');
  if (!INT.test(ts) || !ID_PATTERN.test(experiment) || !ARMS.has(a)) return undefined;
  if (!items.every((i) => ID_PATTERN.test(i))) return undefined;
  return { ts: Number(ts), request_id, experiment, arm: a as StoredArm, items };
}

export function decodeEvent(field: string, value: string): JoinEvent | undefined {
  const event_id = field.slice(2);
  const parts = value.split('|');
  if (!field.startsWith('e|') || !ID_PATTERN.test(event_id) || parts.length !== 3) return undefined;
  const [ts, item_id, list] = parts as [string, string, string];
  if (!INT.test(ts) || !ID_PATTERN.test(item_id)) return undefined;
  const claims: Claim[] = [];
  for (const c of list === '' ? [] : list.split(',')) {
    const p = c.split(':');
    if (p.length !== 3 && p.length !== 5) return undefined;
    const [experiment, a, position, sts, sreq] = p as [string, string, string, string?, string?];
    if (!ID_PATTERN.test(experiment) || !ARMS.has(a) || !INT.test(position)) return undefined;
    const claim: Claim = { experiment, arm: a as StoredArm, position: Number(position) };
    if (sts !== undefined && sreq !== undefined) {
      if (!INT.test(sts) || !ID_PATTERN.test(sreq)) return undefined;
      claim.source = { ts: Number(sts), request_id: sreq };
    }
    claims.push(claim);
  }
  return { ts: Number(ts), event_id, item_id, claims };
}

/** The stored fields of a state, in the order written. */
export function encodeState(s: UserJoinState): Map<string, string> {
  return new Map([...s.exposures.map(encodeExposure), ...s.events.map(encodeEvent)]);
}

/** A state from its stored fields: what does not decode is left out (and dropped by the next write). */
export function decodeState(fields: ReadonlyMap<string, string>): { version: number; state: UserJoinState } {
  const state: UserJoinState = { exposures: [], events: [] };
  for (const [f, v] of fields) {
    if (f.startsWith('x|')) {
      const x = decodeExposure(f, v);
      if (x) state.exposures.push(x);
    } else if (f.startsWith('e|')) {
      const e = decodeEvent(f, v);
      if (e) state.events.push(e);
    }
  }
  state.exposures.sort(byTimeThen((x) => x.request_id));
  state.events.sort(byTimeThen((e) => e.event_id));
  const v = fields.get(VERSION) ?? '0';
  return { version: INT.test(v) ? Number(v) : 0, state };
}

/** Ascending time, ties by an id: the order both sides of the join keep. */
export const byTimeThen =
  <T extends { ts: number }>(idOf: (t: T) => string) =>
  (a: T, b: T): number =>
    a.ts - b.ts || (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0);

/**
 * The join states in Redis. Reads are pipelined per user; writes go through the result store's
 * commit (stores/experiments/redis.ts) with the batch's counts and its partition's fence, each
 * only if its user's version is unchanged. The TTL is twice the window on the wall clock, from
 * the user's last write.
 */
export class RedisJoinStateStore {
  readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    windowMs: number,
  ) {
    this.ttlSeconds = Math.max(1, Math.ceil((2 * windowMs) / 1000));
  }

  async read(users: Iterable<string>): Promise<Map<string, VersionedState>> {
    const ids = [...new Set(users)];
    const out = new Map<string, VersionedState>();
    if (ids.length === 0) return out;
    const p = this.redis.pipeline();
    for (const u of ids) p.hgetall(joinStateKey(u));
    const replies = (await p.exec()) ?? [];
    ids.forEach((u, i) => {
      const [err, raw] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      const fields = new Map(Object.entries(raw as Record<string, string>));
      out.set(u, { ...decodeState(fields), fields });
    });
    return out;
  }

  /**
   * The write that turns the state as read into `after`: the fields that changed and the ones
   * gone. Undefined when nothing changed.
   */
  write(user: string, read: VersionedState | undefined, after: UserJoinState): GuardedHashWrite | undefined {
    const now = encodeState(after);
    const before = read?.fields ?? new Map<string, string>();
    const set: string[] = [];
    for (const [f, v] of now) if (before.get(f) !== v) set.push(f, v);
    const del = [...before.keys()].filter((f) => f !== VERSION && !now.has(f));
    if (set.length === 0 && del.length === 0) return undefined;
    return {
      user_id: user,
      key: joinStateKey(user),
      version: read?.version ?? 0,
      set,
      del,
      ttlSeconds: this.ttlSeconds,
    };
  }
}
