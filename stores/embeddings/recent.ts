import { fnv1a } from '../../runtime/hash.js';

// A user's latest applied event ids, as 8-byte fingerprints in one binary string (oldest first):
// the ID-embedding updater skips an event found there. A producer that retries a batch after a
// 503 or a timeout puts its events in the log again at new offsets, seconds later; the offset
// fence cannot tell those apart, the event ids can. 32 of them cover any retry of a user with
// fewer than 32 events in between (256 bytes of fingerprints; Redis' MEMORY USAGE of the
// user's hash: 512 bytes, 600 with the ledger; it expires with the rows).

export const RECENT_APPLIED = 32;
const WIDTH = 8;

/** Two FNV-1a 32-bit hashes with different offset bases: a false match is a 2⁻⁶⁴ chance per pair. */
export function recentFingerprint(eventId: string): Buffer {
  const out = Buffer.alloc(WIDTH);
  out.writeUInt32BE(fnv1a(eventId), 0);
  out.writeUInt32BE(fnv1a(eventId, 0x050c5d1f), 4);
  return out;
}

/** The fingerprints held, for membership tests. */
export function recentSet(recent: Buffer): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + WIDTH <= recent.length; i += WIDTH) out.add(recent.toString('hex', i, i + WIDTH));
  return out;
}

/** The list after applying these events: appended, the oldest dropped beyond `keep`. */
export function appendRecent(recent: Buffer, eventIds: readonly string[], keep = RECENT_APPLIED): Buffer {
  const all = Buffer.concat([recent, ...eventIds.map(recentFingerprint)]);
  return all.length > keep * WIDTH ? Buffer.from(all.subarray(all.length - keep * WIDTH)) : all;
}
