import { tallyByUser } from '../stores/embeddings/fingerprint.js';
import type { IdRowStore } from '../stores/embeddings/index.js';
import type { HistoryEvent, HistoryStore } from '../stores/history/index.js';
import { compareEvents } from '../stores/order.js';
import type { PopularityStore } from '../stores/popularity/index.js';
import type { ProfileStore } from '../stores/profiles/index.js';
import type { SequenceStore } from '../stores/sequence/index.js';

// The exact books of one drill phase, read back from every store after the lag is zero. The
// phase's users are its own (no other phase or probe writes them) and its items' popularity was
// read just before it, so each store's share of the phase can be told apart and counted:
// - HBase: every acknowledged event id once (the row key makes two rows of one id impossible,
//   which is what the count checks);
// - the Redis sequence: equal to HBase's latest SEQUENCE_LENGTH for each user;
// - popularity: each item's count grew by exactly its events in HBase;
// - the embedding updater: each user's ledger (events, sum of event-id fingerprints) equals the
//   one computed from HBase: one double or one loss changes it;
// - the user profiles (the `items` processor): every user's posted profile is the stored one.

export interface PhaseStores {
  history: HistoryStore;
  sequence: SequenceStore;
  popularity: PopularityStore;
  rows: IdRowStore;
  profiles: ProfileStore;
  sequenceLength: number;
}

export interface PhaseInput {
  /** Acknowledged (2xx) event ids. */
  accepted: ReadonlySet<string>;
  /** Every event posted in the phase (acknowledged or not). */
  posted: ReadonlySet<string>;
  users: readonly string[];
  /** Popularity of the phase's items just before it. */
  itemsBefore: ReadonlyMap<string, number>;
  /** The profile value each user was posted with (`profile.drill`). */
  profileMark: string;
  /** Whether the embedding updater had a live version for the whole phase (else its ledger is not checked). */
  ledger: boolean;
}

export interface StoreBooks {
  /** Acknowledged events missing. */
  lost: number;
  /** Events applied more than once. */
  doubled: number;
}

export interface PhaseBooks {
  hbase: StoreBooks & { rows: number; unacknowledged: number; foreign: number };
  sequence: StoreBooks & { usersMismatched: number };
  popularity: StoreBooks;
  embeddings: (StoreBooks & { usersMismatched: number }) | null;
  profiles: StoreBooks;
  lost: number;
  doubled: number;
}

/** The books of one phase from what its stores hold. */
export async function auditPhase(s: PhaseStores, p: PhaseInput): Promise<PhaseBooks> {
  const byUser = new Map<string, HistoryEvent[]>();
  for (const u of p.users) byUser.set(u, await s.history.since(u, 0));
  const stored = [...byUser.values()].flat();
  const hbase = countHistory(stored, p);
  const sequence = await checkSequences(s, byUser);
  const popularity = await checkPopularity(s, stored, p.itemsBefore);
  const embeddings = p.ledger ? await checkLedger(s, stored, p.users) : null;
  const profiles = await checkProfiles(s, p);
  const parts = [hbase, sequence, popularity, embeddings ?? { lost: 0, doubled: 0 }, profiles];
  return {
    hbase,
    sequence,
    popularity,
    embeddings,
    profiles,
    lost: parts.reduce((a, b) => a + b.lost, 0),
    doubled: parts.reduce((a, b) => a + b.doubled, 0),
  };
}

export function countHistory(stored: readonly HistoryEvent[], p: Pick<PhaseInput, 'accepted' | 'posted'>) {
  const seen = new Map<string, number>();
  for (const e of stored) seen.set(e.event_id, (seen.get(e.event_id) ?? 0) + 1);
  let lost = 0;
  for (const id of p.accepted) if (!seen.has(id)) lost++;
  let doubled = 0;
  let unacknowledged = 0;
  let foreign = 0;
  for (const [id, n] of seen) {
    doubled += n - 1;
    if (!p.accepted.has(id)) {
      if (p.posted.has(id)) unacknowledged++;
      else foreign++;
    }
  }
  return { lost, doubled, rows: stored.length, unacknowledged, foreign };
}

async function checkSequences(s: PhaseStores, byUser: ReadonlyMap<string, HistoryEvent[]>) {
  let lost = 0;
  let doubled = 0;
  let usersMismatched = 0;
  for (const [user, events] of byUser) {
    const tail = [...events]
      .sort(compareEvents)
      .slice(-s.sequenceLength)
      .map((e) => e.event_id);
    const held = (await s.sequence.recent(user)).map((e) => e.event_id);
    const r = compareTail(tail, held);
    lost += r.lost;
    doubled += r.doubled;
    if (r.lost + r.doubled > 0 || tail.join() !== held.join()) usersMismatched++;
  }
  return { lost, doubled, usersMismatched };
}

/** How the held sequence differs from the expected tail: ids missing, ids held more than once. */
export function compareTail(tail: readonly string[], held: readonly string[]): StoreBooks {
  const want = new Set(tail);
  const counts = new Map<string, number>();
  for (const id of held) counts.set(id, (counts.get(id) ?? 0) + 1);
  let lost = 0;
  for (const id of want) if (!counts.has(id)) lost++;
  let doubled = 0;
  for (const n of counts.values()) doubled += n - 1;
  return { lost, doubled };
}

async function checkPopularity(
  s: PhaseStores,
  stored: readonly HistoryEvent[],
  before: ReadonlyMap<string, number>,
): Promise<StoreBooks> {
  const truth = new Map<string, number>();
  for (const e of stored) truth.set(e.item_id, (truth.get(e.item_id) ?? 0) + 1);
  const items = [...new Set([...truth.keys(), ...before.keys()])];
  const after = await s.popularity.counts('all', items);
  return countDeltas(items, (i) => (after[i] ?? 0) - (before.get(items[i] as string) ?? 0), truth);
}

/** Per item: a count that grew by less than its events lost some, by more doubled some. */
export function countDeltas(
  items: readonly string[],
  delta: (i: number) => number,
  truth: ReadonlyMap<string, number>,
): StoreBooks {
  let lost = 0;
  let doubled = 0;
  items.forEach((item, i) => {
    const d = delta(i) - (truth.get(item) ?? 0);
    if (d < 0) lost -= d;
    else doubled += d;
  });
  return { lost, doubled };
}

async function checkLedger(s: PhaseStores, stored: readonly HistoryEvent[], users: readonly string[]) {
  const truth = tallyByUser(stored);
  const held = await s.rows.applied(users);
  let lost = 0;
  let doubled = 0;
  let usersMismatched = 0;
  for (const h of held) {
    const t = truth.get(h.userId) ?? { events: 0, fingerprint: 0 };
    if (h.events < t.events) lost += t.events - h.events;
    if (h.events > t.events) doubled += h.events - t.events;
    // as many events but another sum: one applied twice where another was never applied
    if (h.events === t.events && h.fingerprint !== t.fingerprint) {
      lost++;
      doubled++;
    }
    if (h.events !== t.events || h.fingerprint !== t.fingerprint) usersMismatched++;
  }
  return { lost, doubled, usersMismatched };
}

async function checkProfiles(s: PhaseStores, p: PhaseInput): Promise<StoreBooks> {
  const got = await s.profiles.getUsers([...p.users]);
  const lost = got.filter((u) => u?.profile.drill !== p.profileMark).length;
  return { lost, doubled: 0 };
}
