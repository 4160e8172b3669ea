import type { UserProfileEvent } from '../../schemas/user.js';
import type { ProfileCache, ProfileStore, UserProfile } from './index.js';

/** Rows per read-back from the store of record: one round trip each. */
const READ_BACK = 500;

/**
 * Profile events into the store of record, then the winners as it now holds them into the
 * cache: what the items processor does, and what a loader writing straight to HBase must do too.
 */
export async function applyUserProfiles(
  store: ProfileStore,
  cache: ProfileCache,
  events: UserProfileEvent[],
): Promise<void> {
  await store.applyUsers(events);
  const ids = [...new Set(events.map((e) => e.user_id))];
  for (let i = 0; i < ids.length; i += READ_BACK) {
    const winners = await store.getUsers(ids.slice(i, i + READ_BACK));
    await cache.putMany(winners.filter((p): p is UserProfile => p !== undefined));
  }
}
