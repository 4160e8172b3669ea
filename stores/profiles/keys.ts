import { redisKey } from '../../clients/keys.js';

// Redis keys of profiles: the serving layer's profile copies and the items processor's change log.

/**
 * The serving layer's copy of a user's profile (`{ts}\t{json}`, or `-1\t` for "no profile"),
 * written through by the items processor and filled from HBase on a miss (stores/profiles/redis-cache.ts).
 */
export const profileKey = (userId: string): string => redisKey('prof', userId);

/**
 * ZSET of items whose profile the items processor applied (item → wall-clock ms): the daily
 * job re-infers those changed while it was building a collection, after its switch.
 */
export const ITEMS_CHANGED_KEY = redisKey('items', 'changed');
