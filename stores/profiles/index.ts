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
