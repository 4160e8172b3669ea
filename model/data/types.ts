/** One behaviour row of a dataset (a rating, click, view…). */
export interface Interaction {
  user: string;
  item: string;
  /** Unix seconds (may be fractional). */
  ts: number;
  type?: string;
  value?: number;
  /** 0-based data-row index in the interactions file (header excluded), for stable sorting. */
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
}

export interface DatasetErrorLocation {
  file: string;
  /** 1-based physical line; the header is line 1. */
  line?: number;
  field?: string;
}

/** Bad dataset input. The message names the file, and the line and field when known. */
export class DatasetError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;

  constructor(problem: string, where: DatasetErrorLocation) {
    const parts = [where.file];
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.field !== undefined) parts.push(`field "${where.field}"`);
    super(`${parts.join(', ')}: ${problem}`);
    this.name = 'DatasetError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}
