import type { Dataset } from '../model/data/types.js';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import type { IngestClient } from './client.js';
import { behaviourEvents, itemEvents, userEvents } from './events.js';

export interface ReplayOptions {
  /** Events per request. */
  batch: number;
  /** Requests in flight. */
  concurrency: number;
  /** Cap on events per second (undefined: as fast as the API takes them). */
  rate?: number;
  /** Replay at X times the dataset's own pace (event-time gaps divided by X). */
  speedup?: number;
  /** Only the first N interactions (in time order). */
  limit?: number;
  /** Called after each acknowledged batch with the number of events sent so far. */
  onProgress?: (sent: number, total: number) => void;
}

export interface ReplayResult {
  /** Item profiles posted (items of the item file; ID-only items get none). */
  items: number;
  users: number;
  /** Behaviour events posted: every interaction (the first `limit` with --limit). */
  events: number;
  /**
   * Of those, the events on items with no row in the item file (`ds.idOnly`), and how many such
   * items they touch; posted like the others, the items known online by their ID alone.
   */
  idOnly: { events: number; items: number };
  seconds: number;
  eventsPerSecond: number;
}

/**
 * Posts the dataset's items and users, then its interactions in timestamp order, `batch` events a
 * request with `concurrency` requests in flight (each request's events stay in order).
 */
export async function replay(ds: Dataset, client: IngestClient, o: ReplayOptions): Promise<ReplayResult> {
  let events = behaviourEvents(ds);
  if (o.limit !== undefined) events = events.slice(0, o.limit);
  const firstTs = events[0]?.ts ?? 0;
  const bare = new Set(ds.idOnly?.items);
  const bareTouched = new Set<string>();
  let bareEvents = 0;
  for (const e of events)
    if (bare.has(e.item_id)) {
      bareEvents++;
      bareTouched.add(e.item_id);
    }
  const items = itemEvents(ds, firstTs);
  const users = userEvents(ds, firstTs);
  for (let i = 0; i < items.length; i += o.batch) await client.post('/v1/items', items.slice(i, i + o.batch));
  for (let i = 0; i < users.length; i += o.batch) await client.post('/v1/users', users.slice(i, i + o.batch));

  const batches: BehaviourEvent[][] = [];
  for (let i = 0; i < events.length; i += o.batch) batches.push(events.slice(i, i + o.batch));
  const t0 = performance.now();
  let sent = 0;
  let next = 0;
  const dueAt = (b: number): number => {
    const first = batches[b]?.[0];
    let due = 0;
    if (o.rate) due = Math.max(due, ((b * o.batch) / o.rate) * 1000);
    if (o.speedup && first) due = Math.max(due, (first.ts - firstTs) / o.speedup);
    return due;
  };
  async function worker(): Promise<void> {
    for (;;) {
      const b = next++;
      const batch = batches[b];
      if (!batch) return;
      const wait = dueAt(b) - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await client.post('/v1/events', batch);
      sent += batch.length;
      o.onProgress?.(sent, events.length);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return {
    items: items.length,
    users: users.length,
    events: sent,
    idOnly: { events: bareEvents, items: bareTouched.size },
    seconds,
    eventsPerSecond: sent / seconds,
  };
}
