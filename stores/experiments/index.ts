import type { FencedPartition } from '../fence.js';
import type { GuardedHashWrite } from './join-state.js';

/** Counts of one user in one arm: attributed behaviour events and those whose item was exposed. */
export interface ArmUserCounts {
  events: number;
  hits: number;
}

/**
 * One behaviour event attributed to an arm of a running experiment, or a change of what it
 * counts there (a newer exposure of the arm that arrived after the event).
 */
export interface Attribution {
  /** Kafka offset of the record that made this row (the event, or the late exposure). */
  offset: number;
  experiment: string;
  arm: string;
  user_id: string;
  /** The event's time (its UTC day holds the counts). */
  ts: number;
  /** 1-based position of the item in the exposure, or 0 for a miss. */
  position: number;
  /**
   * What the event counted for this arm before this row: absent when it is newly attributed (one
   * event more), 0 when it was a miss (one hit more), else the hit's earlier position (the hit
   * moves from that position's bucket to this one's).
   */
  before?: number;
}

/** The counts one row changes: the user's events and hits, and hits per position bucket. */
export function countDeltas(r: Attribution): { events: number; hits: number; positions: [string, number][] } {
  const newEvent = r.before === undefined;
  const wasHit = (r.before ?? 0) > 0;
  const positions: [string, number][] = [];
  if (wasHit && r.position > 0 && positionBucket(r.before as number) !== positionBucket(r.position)) {
    positions.push([positionBucket(r.before as number), -1], [positionBucket(r.position), 1]);
  } else if (!wasHit && r.position > 0) positions.push([positionBucket(r.position), 1]);
  return { events: newEvent ? 1 : 0, hits: !wasHit && r.position > 0 ? 1 : 0, positions };
}

/** Why a commit wrote nothing: the fence moved (another consumer), or these users' states did. */
export type CommitResult = { ok: true } | { ok: false; fence: number; moved: string[] };

export interface ArmResults {
  /** Users the arm exposed, over every day. */
  exposedUsers: number;
  /** Per user, summed over days. */
  users: Map<string, ArmUserCounts>;
  /** Hits by position bucket (`1`, `2-5`, `6-10`, `11-20`, `21-50`, `51-100`, `>100`). */
  positions: Map<string, number>;
}

/** Where the experiments processor keeps results and reports read them. */
export interface ExperimentResultStore {
  /**
   * Records that these users were exposed (idempotent). Returns, per experiment and arm, how many
   * users were new to the arm on their exposure's UTC day (a re-delivery adds none).
   */
  markExposed(
    rows: { experiment: string; arm: string; user_id: string; ts: number }[],
  ): Promise<{ experiment: string; arm: string; added: number }[]>;
  /** The partition's fence: the last offset whose join states and counts are in (-1: none). */
  fence(p: FencedPartition): Promise<number>;
  /**
   * One batch of a partition, exactly once: if the fence is still `expected` and every user's
   * join state still at the version read, writes the states, counts the rows and moves the fence
   * to `lastOffset`, all at once; otherwise nothing, and says what moved. A batch delivered again
   * finds its offsets at or below the fence and is left out before it is joined.
   */
  commit(
    p: FencedPartition,
    expected: number,
    lastOffset: number,
    rows: readonly Attribution[],
    states: readonly GuardedHashWrite[],
  ): Promise<CommitResult>;
  /** Every arm's results of an experiment. */
  results(experiment: string): Promise<Map<string, ArmResults>>;
  /** Forgets an experiment's results (after its report was archived). */
  drop(experiment: string): Promise<void>;
}

const BUCKETS: [number, string][] = [
  [1, '1'],
  [5, '2-5'],
  [10, '6-10'],
  [20, '11-20'],
  [50, '21-50'],
  [100, '51-100'],
];

/** The bounded label of a hit position. */
export function positionBucket(position: number): string {
  for (const [max, label] of BUCKETS) if (position <= max) return label;
  return '>100';
}

export const POSITION_BUCKETS = [...BUCKETS.map(([, l]) => l), '>100'];
