/** Counts of one user in one arm: attributed behaviour events and those whose item was exposed. */
export interface ArmUserCounts {
  events: number;
  hits: number;
}

/** One behaviour event attributed to an exposure of a running experiment. */
export interface Attribution {
  /** Kafka offset of the event, for the exactly-once fence. */
  offset: number;
  experiment: string;
  arm: string;
  user_id: string;
  ts: number;
  /** 1-based position of the item in the exposure, or 0 for a miss. */
  position: number;
}

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
  /**
   * Counts attributions (ascending offsets) exactly once per partition: returns the rows that
   * were new (a re-delivered batch counts none).
   */
  attribute(
    fence: { group: string; topic: string; partition: number },
    rows: Attribution[],
    lastOffset: number,
  ): Promise<Attribution[]>;
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
