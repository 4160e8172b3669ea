import { fnv1a } from '../../runtime/hash.js';
import type { AppliedTally } from './index.js';

/** FNV-1a (32 bit) of an event id: summed per user, an event applied twice or never shows. */
export const eventFingerprint = (eventId: string): number => fnv1a(eventId);

/** Per user: how many events and the sum of their fingerprints. */
export function tallyByUser(
  events: Iterable<{ user_id: string; event_id: string }>,
): Map<string, AppliedTally> {
  const out = new Map<string, AppliedTally>();
  for (const e of events) {
    const t = out.get(e.user_id) ?? { userId: e.user_id, events: 0, fingerprint: 0 };
    t.events++;
    t.fingerprint += eventFingerprint(e.event_id);
    out.set(e.user_id, t);
  }
  return out;
}
