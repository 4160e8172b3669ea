import { redisKey } from '../../clients/keys.js';
import { fnv1a } from '../../runtime/hash.js';

/** SET of a user's seen items' hashes (an intset while it has ≤ `set-max-intset-entries`). */
export const seenKey = (userId: string): string => redisKey('seen', userId);

/**
 * The 32-bit FNV-1a hash of an item id, as a signed int32 so that Redis keeps a user's set of
 * them as an intset (4 bytes an item, against ~50–60 for the ids themselves; docs/decisions.md).
 * An item is falsely excluded only when its hash equals one of the user's n seen items': a
 * chance of about n / 2^32 per candidate (2.3e-6 at n = 10,000).
 */
export function seenHash(itemId: string): number {
  return fnv1a(itemId) | 0;
}
