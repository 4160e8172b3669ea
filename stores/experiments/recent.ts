import { ID_PATTERN, redisKey } from '../../clients/keys.js';
import type { Redis } from '../../clients/redis.js';

// Each user's recent exposures of running experiments, as the experiments processor joins
// behaviour to them (DESIGN.md §9): one sorted set per user, scored by the exposure's time,
// bounded in count and in time, expiring when the user is shown nothing more.

/** One exposure of an experiment, as the join needs it. */
export interface RecentExposure {
  /** When the answer was given (Unix ms). */
  ts: number;
  request_id: string;
  experiment: string;
  arm: 'control' | 'candidate';
  /** The answer's top items, best first. */
  items: string[];
}

export interface RecentExposureSettings {
  /** The join window: exposures older than this before the user's newest one are dropped. */
  windowMs: number;
  /** Most exposures kept per user (the newest). */
  perUser: number;
  /** Most items kept per exposure (the top ones). */
  items: number;
}

/** ZSET of a user's exposures: member `{request}|{experiment}|{arm}|{item},{item},…`, score its ts. */
export const exposuresKey = (userId: string): string => redisKey('exp', 'u', userId);
/** STRING: the event time of the user's latest behaviour the processor joined (the late-exposure check). */
export const lastEventKey = (userId: string): string => redisKey('exp', 'le', userId);

const ARMS = new Set(['control', 'candidate']);

/** The stored form; `|` and `,` cannot occur in an id (ID_PATTERN), so the parts stay apart. */
export function encodeExposure(e: Omit<RecentExposure, 'ts'>, items: number): string {
  for (const id of [e.request_id, e.experiment, ...e.items.slice(0, items)])
    if (!ID_PATTERN.test(id)) throw new Error(`not an id: ${JSON.stringify(id.slice(0, 40))}`);
  if (!ARMS.has(e.arm)) throw new Error(`not an arm: ${JSON.stringify(e.arm)}`);
  return `${e.request_id}|${e.experiment}|${e.arm}|${e.items.slice(0, items).join(',')}`;
}

/** The stored form back; undefined when it is not one (a foreign value is never trusted). */
export function decodeExposure(member: string, ts: number): RecentExposure | undefined {
  const parts = member.split('|');
  if (parts.length !== 4 || !Number.isFinite(ts)) return undefined;
  const [request_id, experiment, arm, list] = parts as [string, string, string, string];
  const items = list === '' ? [] : list.split(',');
  if (!ID_PATTERN.test(request_id) || !ID_PATTERN.test(experiment) || !ARMS.has(arm)) return undefined;
  if (!items.every((i) => ID_PATTERN.test(i))) return undefined;
  return { ts, request_id, experiment, arm: arm as RecentExposure['arm'], items };
}

/**
 * The recent exposures in Redis. Writes are idempotent (an exposure is its request id's member,
 * so a re-delivered batch adds nothing); the time bound is the window before the user's newest
 * exposure (event time), the TTL twice the window on the wall clock.
 */
export class RedisRecentExposureStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly settings: RecentExposureSettings,
  ) {
    this.ttlSeconds = Math.max(1, Math.ceil((2 * settings.windowMs) / 1000));
  }

  /**
   * Keeps the exposures, then reads each of their users' latest joined event time (in that order:
   * see `markEvents`). Returns, per exposure in input order, whether it was new (a re-delivered
   * one is not) and that time (absent: none within the TTL).
   */
  async add(
    exposures: readonly (RecentExposure & { user_id: string })[],
  ): Promise<{ added: boolean; lastEventTs: number | undefined }[]> {
    if (exposures.length === 0) return [];
    const newest = new Map<string, number>();
    for (const e of exposures) newest.set(e.user_id, Math.max(newest.get(e.user_id) ?? e.ts, e.ts));
    const { windowMs, perUser } = this.settings;
    const p = this.redis.pipeline();
    // one ZADD per exposure: its reply says whether it was new
    for (const e of exposures) p.zadd(exposuresKey(e.user_id), e.ts, encodeExposure(e, this.settings.items));
    for (const [user, ts] of newest) {
      const key = exposuresKey(user);
      p.zremrangebyscore(key, '-inf', `(${ts - windowMs}`)
        .zremrangebyrank(key, 0, -(perUser + 1))
        .expire(key, this.ttlSeconds);
    }
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const last = await this.lastEvents([...newest.keys()]);
    return exposures.map((e, i) => ({
      added: Number(results[i]?.[1]) === 1,
      lastEventTs: last.get(e.user_id),
    }));
  }

  /**
   * Records each user's latest event time, before the caller reads their exposures: an exposure
   * written after that read then finds the mark (`add` writes before it reads), so an event that
   * missed its exposure is always seen as such by the exposure's `add`.
   */
  async markEvents(latest: ReadonlyMap<string, number>): Promise<void> {
    if (latest.size === 0) return;
    const p = this.redis.pipeline();
    for (const [user, ts] of latest) p.set(lastEventKey(user), String(ts), 'EX', this.ttlSeconds);
    for (const [err] of (await p.exec()) ?? []) if (err) throw err;
  }

  /** Each user's kept exposures with a time in [from, to], oldest first. */
  async recent(
    users: ReadonlyMap<string, { from: number; to: number }>,
  ): Promise<Map<string, RecentExposure[]>> {
    const out = new Map<string, RecentExposure[]>();
    if (users.size === 0) return out;
    const ids = [...users.keys()];
    // one command per key in a pipeline: the keys may live in different Redis Cluster slots
    const p = this.redis.pipeline();
    for (const u of ids) {
      const r = users.get(u) as { from: number; to: number };
      p.zrangebyscore(exposuresKey(u), r.from, r.to, 'WITHSCORES');
    }
    const results = (await p.exec()) ?? [];
    results.forEach(([err, raw], i) => {
      if (err) throw err;
      const flat = raw as string[];
      const list: RecentExposure[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const e = decodeExposure(flat[j] as string, Number(flat[j + 1]));
        if (e) list.push(e);
      }
      if (list.length > 0) out.set(ids[i] as string, list);
    });
    return out;
  }

  private async lastEvents(users: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (users.length === 0) return out;
    const p = this.redis.pipeline();
    for (const u of users) p.get(lastEventKey(u));
    const results = (await p.exec()) ?? [];
    results.forEach(([err, raw], i) => {
      if (err) throw err;
      const ts = typeof raw === 'string' ? Number(raw) : Number.NaN;
      if (Number.isFinite(ts)) out.set(users[i] as string, ts);
    });
    return out;
  }
}
