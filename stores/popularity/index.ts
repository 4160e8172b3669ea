import type { FencedPartition } from '../fence.js';

/** A behaviour event as counting needs it: its offset (for the fence), item and time. */
export interface CountedEvent {
  offset: number;
  item_id: string;
  ts: number;
}

export interface ItemCount {
  item_id: string;
  count: number;
}

/** A counting window: all time, or the UTC hour or day holding a time (Unix ms). */
export type PopularityWindow = 'all' | { hour: number } | { day: number };

/** Items to leave out of a top list: at most `max` of them, told apart by `has`. */
export interface Exclusion {
  max: number;
  has(itemId: string): boolean;
}

/** Popularity counters per time window (DESIGN.md §4), exactly once per event. */
export interface PopularityStore {
  /**
   * Counts `events` (ascending offsets) into every window and moves the partition's fence to
   * `lastOffset`, atomically per chunk; events at or below the fence are not counted again.
   * Returns how many were counted.
   */
  count(fence: FencedPartition, events: CountedEvent[], lastOffset: number): Promise<number>;
  /**
   * The window's `k` most counted items, most first (ties: the greater item id first), leaving
   * out the excluded ones: reads `k + exclude.max` deep, so fewer than `k` may come back.
   */
  top(window: PopularityWindow, k: number, exclude?: Exclusion): Promise<ItemCount[]>;
  /** The window's counts of these items, in the order asked (0: never counted). */
  counts(window: PopularityWindow, itemIds: readonly string[]): Promise<number[]>;
}
