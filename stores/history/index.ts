import type { BehaviourEvent } from '../../schemas/behaviour.js';

/** A behaviour event as stored in the history (the schema version is implied by the store). */
export type HistoryEvent = Omit<BehaviourEvent, 'v'>;

/** The full behaviour log: idempotent writes keyed by event id, cheap per-user reads, a scan by time for training. */
export interface HistoryStore {
  /** Creates the table if missing (idempotent). */
  ensure(): Promise<void>;
  /** Writes events; writing an event again (same user, ts and event id) changes nothing. */
  write(events: HistoryEvent[]): Promise<void>;
  /** Whether each event is already stored. */
  exists(events: HistoryEvent[]): Promise<boolean[]>;
  /** A user's `n` latest events, oldest first (order of stores/order.ts). */
  latest(userId: string, n: number): Promise<HistoryEvent[]>;
  /** A user's events with ts ≥ `sinceTs`, oldest first. */
  since(userId: string, sinceTs: number): Promise<HistoryEvent[]>;
  /** Every event with fromTs ≤ ts < toTs, read in parallel; no particular order. */
  collectTime(
    fromTs: number,
    toTs: number,
    parallel?: number,
    onProgress?: (n: number) => void,
  ): Promise<HistoryEvent[]>;
  /** Every event with fromTs ≤ ts < toTs, in storage order (salt, user, newest first). */
  scanTime(fromTs: number, toTs: number): AsyncGenerator<HistoryEvent>;
}
