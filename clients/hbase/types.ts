// The client's data shapes, shared by the Thrift client (thrift2.ts) and its hand-written
// encoder (wire.ts) without either importing the other.

export type Bytes = Buffer | string;
/** A column value: `family:qualifier` → bytes. */
export type Cells = Record<string, Bytes>;

export interface HRow {
  row: Buffer;
  /** `family:qualifier` → value */
  cells: Map<string, Buffer>;
}

export interface ScanOptions {
  start?: Bytes;
  /** exclusive */
  stop?: Bytes;
  /** rows fetched per round trip */
  batch?: number;
  limit?: number;
  reversed?: boolean;
  columns?: string[];
  /** Only cells whose timestamp is in [min, max) (ms); HBase skips store files outside it. */
  timeRange?: { min: number; max: number };
}

/** A row to put; `ts` sets the cells' timestamp (ms) instead of the server's clock. */
export interface PutRow {
  row: Bytes;
  cells: Cells;
  ts?: number;
}
