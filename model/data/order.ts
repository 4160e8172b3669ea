// The one order of a user's interactions, offline and online: by time, then by `key` in plain
// code-unit order. Online, the Redis sequence and HBase reads order a user's events by
// (ts, event_id) the same way (stores/order.ts compareEvents); replay posts event ids
// `${tag}-${key}`, a common prefix, so the two orders agree. The file row never decides.

export interface TimeKeyed {
  ts: number;
  key: string;
}

/** (ts, key), keys compared by UTF-16 code units (not localeCompare), as compareEvents does. */
export function compareTimeKey(a: TimeKeyed, b: TimeKeyed): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * (ts, key, user): the order of a whole dataset. Within a user it is compareTimeKey; the user
 * only breaks ties between users that share a timestamp and a key (event ids of the daily
 * window are producer-chosen), so the order is total and never depends on the input order.
 */
export function compareInteractions(
  a: TimeKeyed & { user: string },
  b: TimeKeyed & { user: string },
): number {
  return compareTimeKey(a, b) || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
}
