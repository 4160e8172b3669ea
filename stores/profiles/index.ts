import type { ItemEvent } from '../../schemas/item.js';
import type { UserProfileEvent } from '../../schemas/user.js';

/** The current state of an item: its features, or removed. */
export interface ItemState {
  item_id: string;
  ts: number;
  event_id: string;
  removed: boolean;
  features: NonNullable<ItemEvent['features']>;
}

export interface UserProfile {
  user_id: string;
  ts: number;
  event_id: string;
  profile: UserProfileEvent['profile'];
}

/** Item and user profiles: last write by event time wins, so re-delivered or late events never roll a profile back. */
export interface ProfileStore {
  ensure(): Promise<void>;
  applyItems(events: ItemEvent[]): Promise<void>;
  applyUsers(events: UserProfileEvent[]): Promise<void>;
  getItem(itemId: string): Promise<ItemState | undefined>;
  /** Several items in one round trip, in the order asked. */
  getItems(itemIds: string[]): Promise<(ItemState | undefined)[]>;
  getUser(userId: string): Promise<UserProfile | undefined>;
  /** Several users in one round trip, in the order asked. */
  getUsers(userIds: string[]): Promise<(UserProfile | undefined)[]>;
  scanItems(): AsyncGenerator<ItemState>;
  scanUsers(): AsyncGenerator<UserProfile>;
}

/**
 * A fast copy of the user profiles for recall (the store of record stays a ProfileStore): the
 * newer copy by profile event time always wins, so a stale fill or a late write-through cannot
 * roll it back.
 */
export interface ProfileCache {
  /** The cached profile; null: cached as having none; undefined: not cached (or unreadable). */
  get(userId: string): Promise<UserProfile | null | undefined>;
  /** Caches what the store of record said about one user (undefined: no profile), unless a copy as new is there. */
  fill(userId: string, profile: UserProfile | undefined): Promise<void>;
  /** Caches profiles as the store of record now holds them (the winners after a write), each unless a newer copy is there. */
  putMany(profiles: UserProfile[]): Promise<void>;
}

/**
 * The items whose profile the items processor applied, by wall-clock time, kept for a while:
 * the daily job re-infers those changed while it was building a collection, after its switch.
 */
export interface ItemChangeLog {
  /** Logs that these items changed now (and forgets entries older than the log keeps). */
  record(itemIds: string[]): Promise<void>;
  /** Items logged at or after `ms` (wall clock). */
  since(ms: number): Promise<string[]>;
}
