import { redisKey } from '../../clients/keys.js';

// Redis keys of popularity counts (DESIGN.md §4).

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
