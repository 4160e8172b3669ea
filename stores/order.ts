// The one definition of "a user's sequence order", shared by HBase reads and the Redis sequence:
// by event time, then by event id (plain code-unit order, which is Redis' byte order for the
// ASCII ids the schemas allow). "Latest N" are the N greatest under this order.

export interface Ordered {
  ts: number;
  event_id: string;
}

export function compareEvents(a: Ordered, b: Ordered): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  return a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0;
}

/** The `n` latest events, oldest first. */
export function latestN<T extends Ordered>(events: T[], n: number): T[] {
  return [...events].sort(compareEvents).slice(Math.max(0, events.length - n));
}
