import { redisKey } from '../../clients/keys.js';

// Redis layout of the recent-behaviour state (DESIGN.md §4). Every variable part is a validated id.

/** ZSET of a user's latest events: score ts, member `event_id \t item_id \t type`. */
export const sequenceKey = (userId: string): string => redisKey('seq', userId);

/** The serving layer's cached user vector; dropped whenever the user has new behaviour. */
export const userVectorKey = (userId: string): string => redisKey('uvec', userId);

/**
 * ZSET of items whose profile the items processor applied (item → wall-clock ms): the daily
 * job re-infers those changed while it was building a collection, after its switch.
 */
export const ITEMS_CHANGED_KEY = redisKey('items', 'changed');

/**
 * A user's incrementally updated ID-embedding row, tagged with the model version it belongs to
 * (`{version}\n{base64 float32}`); the daily job's retire step drops them all.
 */
export const idRowKey = (userId: string): string => redisKey('emb', userId);

/**
 * The serving layer's copy of a user's profile (`{ts}\t{json}`, or `-1\t` for "no profile"),
 * written through by the items processor and filled from HBase on a miss (stores/profiles/redis-cache.ts).
 */
export const profileKey = (userId: string): string => redisKey('prof', userId);

/** All-time popularity ZSET (item → count). */
export const ALL_TIME_POPULARITY_KEY = redisKey('pop', 'all');

export interface PopularityKeys {
  readonly hour: string;
  readonly day: string;
  readonly all: string;
}

const HOUR_MS = 3_600_000;
// the history processor asks once per event, and a batch's events share a few hours: the last
// hours' keys are kept instead of formatting a date and validating two keys every time
const recentHours = new Map<number, PopularityKeys>();

/** Popularity ZSETs (item → count) by UTC hour and day of the event time, and over all time. */
export function popularityKeys(ts: number): PopularityKeys {
  const hour = Math.floor(ts / HOUR_MS);
  let keys = recentHours.get(hour);
  if (!keys) {
    const iso = new Date(hour * HOUR_MS).toISOString(); // 2024-01-31T17:…
    const day = iso.slice(0, 10).replaceAll('-', '');
    keys = Object.freeze({
      hour: redisKey('pop', 'h', `${day}${iso.slice(11, 13)}`),
      day: redisKey('pop', 'd', day),
      all: ALL_TIME_POPULARITY_KEY,
    });
    if (recentHours.size >= 64) recentHours.clear();
    recentHours.set(hour, keys);
  }
  return keys;
}

/**
 * The last Kafka offset a consumer group applied to Redis for one partition, written in the
 * same atomic script as the data it covers (so a crash cannot separate the two).
 */
export const fenceKey = (group: string, topic: string, partition: number): string =>
  redisKey('fence', group, topic, String(partition));

const SEP = '\t';

export interface SequenceEntry {
  event_id: string;
  item_id: string;
  type: string;
  ts: number;
}

/** Members start with the event id so that ZSET ties (same ts) order like stores/order.ts. */
export const sequenceMember = (e: SequenceEntry): string => [e.event_id, e.item_id, e.type].join(SEP);

export function parseSequenceMember(member: string, score: number): SequenceEntry {
  const [event_id = '', item_id = '', type = ''] = member.split(SEP);
  return { event_id, item_id, type, ts: score };
}
