import { ExitCode, UserFacingError } from '../../runtime/errors.js';

/** One behaviour row of a dataset (a rating, click, view…). */
export interface Interaction {
  user: string;
  item: string;
  /** Unix seconds (may be fractional). */
  ts: number;
  type?: string;
  value?: number;
  /**
   * Tie-break of the time order (model/data/order.ts): a user's interactions are ordered by
   * (ts, key), never by file position. CSV datasets: a content hash of the row (model/data/keys.ts);
   * the daily job's window: the event's `event_id`. Unique within a dataset.
   */
  key: string;
  /** 0-based data-row index in the interactions file (header excluded), for error messages only. */
  row: number;
}

export interface ItemRecord {
  id: string;
  /** Multi-valued categorical fields, values split on '|'. */
  categorical: Record<string, string[]>;
  /** Numeric fields; a blank cell leaves the field out. */
  numeric: Record<string, number>;
  text?: string;
}

export interface UserRecord {
  id: string;
  categorical: Record<string, string>;
}

/** Rows dropped on purpose while loading, counted so nothing disappears silently. */
export interface SkipCount {
  reason: string;
  count: number;
  /** The first dropped row, for the log. */
  example?: string;
}

/**
 * Interactions whose item has no row in the item file (items.csv / movies.csv; the daily job's
 * window: no item profile). They are kept, and their items get bare records: the model knows
 * them by their item ID alone.
 */
export interface IdOnlyItems {
  /** Where the rows were looked for: `items.csv`, `movies.csv`, `item profiles`. */
  source: string;
  /** The bare items, sorted (plain code-unit order). */
  items: string[];
  /** Interactions on them. */
  interactions: number;
}

/**
 * The line train, eval, replay, the demo and the daily job print for a dataset with ID-only
 * items, e.g. `836 interactions of 83 items not in items.csv: trained as ID-only items`.
 */
export function idOnlyNote(idOnly: IdOnlyItems, outcome = 'trained as ID-only items'): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `${n(idOnly.interactions)} interactions of ${n(idOnly.items.length)} items not in ${idOnly.source}: ${outcome}`;
}

export interface Dataset {
  name: string;
  interactions: Interaction[];
  /**
   * The item corpus: every row of items.csv / movies.csv (interacted or not), or, when the
   * dataset has no item file, one bare record per item seen in the interactions.
   */
  items: Map<string, ItemRecord>;
  /** Every user of users.csv plus a bare record for each user seen only in the interactions. */
  users: Map<string, UserRecord>;
  skipped: SkipCount[];
  /** Set when some interacted items have no row in an existing item file (see IdOnlyItems). */
  idOnly?: IdOnlyItems;
}

export interface DatasetErrorLocation {
  file: string;
  /** 1-based physical line; the header is line 1. */
  line?: number;
  field?: string;
}

/** What to do about a bad dataset file. */
const DATASET_FIX = 'fix the file, or pass another dataset folder (formats: docs/design.md §5)';

/** Bad dataset input. The message names the file, and the line and field when known. */
export class DatasetError extends UserFacingError {
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;

  constructor(problem: string, where: DatasetErrorLocation, fix = DATASET_FIX) {
    const parts = [where.file];
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.field !== undefined) parts.push(`field "${where.field}"`);
    super({ cause: `${parts.join(', ')}: ${problem}`, fix, exitCode: ExitCode.USAGE });
    this.name = 'DatasetError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}
