import type { Result } from 'ioredis';
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

/**
 * ZSET of a user's exposures (member `{request}|{experiment}|{arm}|{item},{item},…`, score its
 * time) and the mark `~` (score: the event time of the user's latest behaviour the processor
 * joined). One key per user, so each side's write and read is one single-key script (atomic, and
 * within one Redis Cluster slot).
 */
export const exposuresKey = (userId: string): string => redisKey('exp', 'u', userId);

/** The mark's member: `~` cannot occur in an id (ID_PATTERN), so never in an exposure. */
export const MARK = '~';

const ARMS = new Set(['control', 'candidate']);

/** The stored form; `|` and `,` cannot occur in an id (ID_PATTERN), so the parts stay apart. */
export function encodeExposure(e: Omit<RecentExposure, 'ts'>, items: number): string {
  for (const id of [e.request_id, e.experiment, ...e.items.slice(0, items)])
    if (!ID_PATTERN.test(id)) throw new Error(`not an id: ${JSON.stringify(id.slice(0, 40))}`);
  if (!ARMS.has(e.arm)) throw new Error(`not an arm: ${JSON.stringify(e.arm)}`);
  return `${e.request_id}|${e.experiment}|${e.arm}|${e.items.slice(0, items).join(',')}`;
}

/** The stored form back; undefined when it is not one (the mark, or a foreign value, is never trusted). */
export function decodeExposure(member: string, ts: number): RecentExposure | undefined {
  const parts = member.split('|');
  if (parts.length !== 4 || !Number.isFinite(ts)) return undefined;
  const [request_id, experiment, arm, list] = parts as [string, string, string, string];
  const items = list === '' ? [] : list.split(',');
  if (!ID_PATTERN.test(request_id) || !ID_PATTERN.test(experiment) || !ARMS.has(arm)) return undefined;
  if (!items.every((i) => ID_PATTERN.test(i))) return undefined;
  return { ts, request_id, experiment, arm: arm as RecentExposure['arm'], items };
}

// Exposures side, one user: read the mark, add the exposures, trim by time (the window before
// the newest) and count (the mark aside), refresh the TTL. Returns {mark or '', added…}.
// ARGV: ttl, cutoff, per user, then (score, member) pairs.
const ADD = `
local mark = redis.call('ZSCORE', KEYS[1], '${MARK}')
if mark then redis.call('ZREM', KEYS[1], '${MARK}') end
local out = {mark or ''}
for i = 4, #ARGV, 2 do out[#out + 1] = redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
if mark then redis.call('ZADD', KEYS[1], mark, '${MARK}') end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return out`;

// Behaviour side, one user: raise the mark to the latest event time, refresh the TTL, and read
// the exposures of [from, to]. ARGV: latest event time, ttl, from, to.
const READ = `
local mark = redis.call('ZSCORE', KEYS[1], '${MARK}')
if not mark or tonumber(mark) < tonumber(ARGV[1]) then redis.call('ZADD', KEYS[1], ARGV[1], '${MARK}') end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[4], 'WITHSCORES')`;

/**
 * The recent exposures in Redis. Writes are idempotent (an exposure is its request id's member,
 * so a re-delivered batch adds nothing); the time bound is the window before the user's newest
 * exposure (event time), the TTL twice the window on the wall clock.
 *
 * Each side writes and reads in one atomic script per user, so of an exposure and an event of
 * its window handled at the same moment exactly one sees the other: either the event finds the
 * exposure (joined), or the exposure finds the event's mark (late). Nothing is missed unseen.
 */
export class RedisRecentExposureStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly settings: RecentExposureSettings,
  ) {
    this.ttlSeconds = Math.max(1, Math.ceil((2 * settings.windowMs) / 1000));
    redis.defineCommand('experimentExposuresAdd', { numberOfKeys: 1, lua: ADD });
    redis.defineCommand('experimentExposuresRead', { numberOfKeys: 1, lua: READ });
  }

  /**
   * Keeps the exposures. Returns, per exposure in input order, whether it was new (a re-delivered
   * one is not) and its user's mark as it was before (the latest joined event time; absent: none
   * within the TTL).
   */
  async add(
    exposures: readonly (RecentExposure & { user_id: string })[],
  ): Promise<{ added: boolean; lastEventTs: number | undefined }[]> {
    const byUser = new Map<string, { newest: number; at: number[]; members: (string | number)[] }>();
    exposures.forEach((e, i) => {
      const u = byUser.get(e.user_id) ?? { newest: e.ts, at: [], members: [] };
      byUser.set(e.user_id, u);
      u.newest = Math.max(u.newest, e.ts);
      u.at.push(i);
      u.members.push(e.ts, encodeExposure(e, this.settings.items));
    });
    const p = this.redis.pipeline();
    for (const [user, u] of byUser)
      p.experimentExposuresAdd(
        exposuresKey(user),
        this.ttlSeconds,
        u.newest - this.settings.windowMs,
        this.settings.perUser,
        ...u.members,
      );
    const replies = (await p.exec()) ?? [];
    const out: { added: boolean; lastEventTs: number | undefined }[] = new Array(exposures.length);
    [...byUser.values()].forEach((u, k) => {
      const [err, reply] = replies[k] ?? [new Error('no reply')];
      if (err) throw err;
      const [mark, ...added] = reply as [string, ...number[]];
      const lastEventTs = mark === '' ? undefined : Number(mark);
      u.at.forEach((i, j) => {
        out[i] = { added: Number(added[j]) === 1, lastEventTs };
      });
    });
    return out;
  }

  /**
   * Raises each user's mark to their latest event time, and reads their kept exposures with a
   * time in [from, to], oldest first: one script per user, pipelined.
   */
  async joinRead(
    users: ReadonlyMap<string, { latest: number; from: number; to: number }>,
  ): Promise<Map<string, RecentExposure[]>> {
    const out = new Map<string, RecentExposure[]>();
    if (users.size === 0) return out;
    const ids = [...users.keys()];
    const p = this.redis.pipeline();
    for (const u of ids) {
      const r = users.get(u) as { latest: number; from: number; to: number };
      p.experimentExposuresRead(exposuresKey(u), r.latest, this.ttlSeconds, r.from, r.to);
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
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    experimentExposuresAdd(key: string, ...args: (string | number)[]): Result<unknown, Context>;
    experimentExposuresRead(key: string, ...args: (string | number)[]): Result<unknown, Context>;
  }
}
