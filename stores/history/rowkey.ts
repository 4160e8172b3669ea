import { assertId } from '../../clients/keys.js';
import { fnv1a } from '../../runtime/hash.js';

// Row key of the history table: `{salt}|{user_id}|{13-digit reversed ts}|{event_id}`.
//  - salt (2 hex chars, a hash of the user) spreads users over pre-split regions, so a burst of
//    writes never lands on one region server;
//  - one user's rows are contiguous and newest first, so "latest N of U" and "U since T" are one
//    short scan;
//  - the event id makes a re-delivered event overwrite its own row (idempotent).
// Ids are validated ([A-Za-z0-9_.@+=-]), so '|' cannot occur inside a part.

const MAX_TS = 9_999_999_999_999;
const TS_DIGITS = 13;

export function saltOf(userId: string, buckets: number): string {
  checkBuckets(buckets);
  return (fnv1a(userId) % buckets).toString(16).padStart(2, '0');
}

/** Region split points for `buckets` salt buckets (buckets − 1 keys). */
function checkBuckets(buckets: number): void {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 256)
    throw new RangeError(`salt buckets (HISTORY_SALT_BUCKETS) must be 1..256, got ${buckets}`);
}

export function saltSplits(buckets: number): string[] {
  checkBuckets(buckets);
  return Array.from({ length: buckets - 1 }, (_, i) => (i + 1).toString(16).padStart(2, '0'));
}

export const reverseTs = (ts: number): string => String(MAX_TS - ts).padStart(TS_DIGITS, '0');

export function historyRowKey(buckets: number, userId: string, ts: number, eventId: string): string {
  assertId('user_id', userId);
  assertId('event_id', eventId);
  return `${saltOf(userId, buckets)}|${userId}|${reverseTs(ts)}|${eventId}`;
}

/** Start (inclusive) and stop (exclusive) of a user's rows, optionally only those with ts ≥ sinceTs. */
export function userRange(
  buckets: number,
  userId: string,
  sinceTs?: number,
): { start: string; stop: string } {
  assertId('user_id', userId);
  const prefix = `${saltOf(userId, buckets)}|${userId}|`;
  // '~' sorts after every id character and digit
  return { start: prefix, stop: sinceTs === undefined ? `${prefix}~` : `${prefix}${reverseTs(sinceTs)}|~` };
}

export function parseHistoryRowKey(key: string): { userId: string; ts: number; eventId: string } {
  const parts = key.split('|');
  const [, userId, rev, eventId] = parts;
  if (
    parts.length !== 4 ||
    userId === undefined ||
    eventId === undefined ||
    rev === undefined ||
    !/^\d{13}$/.test(rev)
  )
    throw new Error(`not a history row key: ${JSON.stringify(key)}`);
  return { userId, ts: MAX_TS - Number(rev), eventId };
}
