import type { BehaviourEvent } from '../../schemas/behaviour.js';

/** One event of a user's recent sequence. */
export interface SequenceEntry {
  event_id: string;
  item_id: string;
  type: string;
  ts: number;
}

export interface SequenceSettings {
  /** Events kept per user. */
  length: number;
  ttlSeconds: number;
}

/**
 * Each user's latest events (DESIGN.md §4), for online features: the top N by event time, then
 * event id (stores/order.ts) of every event ever applied, so applying an event again changes
 * nothing. Applying a user's events also drops that user's cached user vector.
 */
export interface SequenceStore {
  apply(events: BehaviourEvent[]): Promise<void>;
  /** The user's recent events, oldest first (empty for an unknown user). */
  recent(userId: string): Promise<SequenceEntry[]>;
  /** Whether the user's sequence still holds this event (same event id, item and type). */
  holds(userId: string, entry: SequenceEntry): Promise<boolean>;
}
