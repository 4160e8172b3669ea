import type { FencedPartition } from '../fence.js';

// Per-user vectors outside the model versions: the incremental ID rows (the embeddings
// processor's output) and the recall API's cache of computed user vectors.

export interface IdRow {
  userId: string;
  /** The model version whose towers and item vectors the row was trained against. */
  version: string;
  row: Float32Array;
  /**
   * Where it is kept: `live` (default) the user's one row of the live version (idRowKey);
   * `version` a row of a version served beside it, under that version (versionRowKey).
   */
  slot?: 'live' | 'version';
}

/** A row as read, with its raw text (the recall API fingerprints it for its vector cache). */
export interface StoredRow {
  version: string;
  row: Float32Array;
  raw: string;
}

/** A partition's fence move: from the value the caller read (-1: none yet) to the batch's last offset. */
/**
 * What the updater consumed for one user: the events and the sum of their event-id fingerprints
 * (stores/embeddings/fingerprint.ts). Kept beside the rows in the same atomic step when
 * EMBEDDINGS_APPLIED_LEDGER is on: an event applied twice adds its fingerprint twice, an event
 * lost adds nothing, so the ledger equals the one computed from HBase only when each was applied once.
 */
export interface AppliedTally {
  userId: string;
  events: number;
  fingerprint: number;
}

/**
 * What one fenced write records of a user's applied events: the fingerprints of the latest ones
 * (the updater skips an event id found there: a producer's retry puts one event in the log twice,
 * at two offsets, and the offset fence alone would apply it twice), and, with the ledger on, the tally.
 */
export interface AppliedUpdate {
  userId: string;
  /** The user's latest applied event fingerprints (recent.ts), replacing the stored ones. */
  recent: Buffer;
  /** Added to the ledger when it is kept. */
  tally?: AppliedTally;
}

export interface RowFence {
  partition: FencedPartition;
  expected: number;
  next: number;
}

/**
 * Incremental user-ID rows, each tagged with its model version: a reader asks for the version
 * it serves and gets nothing for a row of another one (rows of the previous version are
 * meaningless with the new towers, and the daily job's retire step removes them).
 */
export interface IdRowStore {
  /** The user's live-slot row with whatever version it has (the caller compares), and its raw text for fingerprints. */
  getAny(userId: string): Promise<StoredRow | undefined>;
  /**
   * The user's row of `version` from either slot (the live one first; the version's own slot
   * carries an experiment's rows over a promote until the live slot is rewritten), in one read.
   */
  getOf(userId: string, version: string): Promise<StoredRow | undefined>;
  /** The user's row of this version, either slot (undefined: none, or one of another version). */
  get(userId: string, version: string): Promise<Float32Array | undefined>;
  /** Rows of several users for one version, either slot, in the order asked (undefined: none for that version). */
  getMany(userIds: string[], version: string): Promise<(Float32Array | undefined)[]>;
  /** Writes the rows together. */
  setMany(rows: IdRow[]): Promise<void>;
  /** The partition's fence: the last offset whose rows are written (-1 when unset). */
  fence(partition: FencedPartition): Promise<number>;
  /**
   * Writes the rows, drops those users' cached user vectors and moves the fence from
   * `expected` to `next`, atomically; false (nothing written) when the fence no longer holds
   * `expected` (another consumer took the partition).
   */
  setManyFenced(rows: IdRow[], fence: RowFence, applied?: readonly AppliedUpdate[]): Promise<boolean>;
  /** Each user's latest applied event fingerprints (empty when none). */
  recentApplied(userIds: readonly string[]): Promise<Buffer[]>;
  /** Each user's applied-events ledger (zeros for a user with none). */
  applied(userIds: readonly string[]): Promise<AppliedTally[]>;
  /** Drops every live-slot row (the daily job's retire step); how many there were. */
  dropAll(): Promise<number>;
  /** Drops every row kept apart for one version (its experiment ended); how many there were. */
  dropVersion(version: string): Promise<number>;
}

/** A cached vector with the tag naming what it was computed from (recall compares it). */
export interface TaggedVector {
  tag: string;
  vector: Float32Array;
}

/** The recall API's computed user vectors, each valid only while its tag matches. */
export interface UserVectorCache {
  /** The user's cached vector, if any (an unreadable entry counts as none). */
  get(userId: string): Promise<TaggedVector | undefined>;
  /** Caches the vector under `tag` for the cache's TTL. */
  set(userId: string, tag: string, vector: Float32Array): Promise<void>;
  /** Drops these users' vectors (their features changed). */
  drop(userIds: Iterable<string>): Promise<void>;
  /** Drops every cached vector (the daily job's retire step); how many there were. */
  dropAll(): Promise<number>;
}
