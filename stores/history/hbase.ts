import type { HBaseClient, HRow } from '../../clients/hbase/thrift2.js';
import { compareEvents, latestN } from '../order.js';
import type { HistoryEvent, HistoryStore } from './index.js';
import { historyRowKey, saltSplits, userRange } from './rowkey.js';

export const HISTORY_TABLE = 'history';
const CELL = 'e:j';

/**
 * History in HBase: one row per event (row key in rowkey.ts), the event as compact JSON in one
 * cell whose timestamp is the event time. The daily job's "scan by day" is a scan with a time
 * range: HBase keeps each store file's min/max cell timestamp and skips files outside the range,
 * which is what a second, day-keyed table would buy, without writing every event twice.
 */
export class HBaseHistoryStore implements HistoryStore {
  constructor(
    private readonly hbase: HBaseClient,
    private readonly saltBuckets: number,
    private readonly table = HISTORY_TABLE,
  ) {}

  async ensure(): Promise<void> {
    await this.hbase.ensureNamespace();
    await this.hbase.createTable(this.table, [{ name: 'e', maxVersions: 1 }], saltSplits(this.saltBuckets));
  }

  write(events: HistoryEvent[]): Promise<void> {
    return this.hbase.putMany(
      this.table,
      events.map((e) => ({
        row: historyRowKey(this.saltBuckets, e.user_id, e.ts, e.event_id),
        cells: { [CELL]: JSON.stringify(e) },
        ts: e.ts,
      })),
    );
  }

  exists(events: HistoryEvent[]): Promise<boolean[]> {
    return this.hbase.existsMany(
      this.table,
      events.map((e) => historyRowKey(this.saltBuckets, e.user_id, e.ts, e.event_id)),
    );
  }

  async latest(userId: string, n: number): Promise<HistoryEvent[]> {
    if (n <= 0) return [];
    const { start, stop } = userRange(this.saltBuckets, userId);
    // Rows come newest first but ties in ts are in ascending event id: read past the n-th row
    // until the timestamp changes so that the tie-break of order.ts decides.
    const rows: HistoryEvent[] = [];
    for await (const r of this.hbase.scan(this.table, { start, stop, batch: Math.min(n + 16, 1000) })) {
      const e = decode(r);
      if (rows.length >= n && e.ts !== rows[rows.length - 1]?.ts) break;
      rows.push(e);
    }
    return latestN(rows, n);
  }

  async since(userId: string, sinceTs: number): Promise<HistoryEvent[]> {
    const { start, stop } = userRange(this.saltBuckets, userId, sinceTs);
    const rows = (await this.hbase.scanAll(this.table, { start, stop })).map(decode);
    return rows.sort(compareEvents);
  }

  /**
   * Every event with fromTs ≤ ts < toTs, the salt buckets scanned `parallel` at a time (one
   * scanner per connection of the pool); order is by bucket completion, not time.
   */
  async collectTime(
    fromTs: number,
    toTs: number,
    parallel = 4,
    onProgress?: (n: number) => void,
  ): Promise<HistoryEvent[]> {
    const buckets = saltSplits(this.saltBuckets);
    const ranges = [undefined, ...buckets].map((start, i) => ({ start, stop: buckets[i] }));
    const out: HistoryEvent[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.max(1, parallel) }, async () => {
        for (let i = next++; i < ranges.length; i = next++) {
          const r = ranges[i] as { start?: string; stop?: string };
          for await (const row of this.hbase.scan(this.table, {
            start: r.start,
            stop: r.stop,
            timeRange: { min: fromTs, max: toTs },
            batch: 5000,
          })) {
            out.push(decode(row));
            if (out.length % 100_000 === 0) onProgress?.(out.length);
          }
        }
      }),
    );
    return out;
  }

  async *scanTime(fromTs: number, toTs: number): AsyncGenerator<HistoryEvent> {
    for await (const r of this.hbase.scan(this.table, { timeRange: { min: fromTs, max: toTs }, batch: 5000 }))
      yield decode(r);
  }
}

function decode(r: HRow): HistoryEvent {
  const cell = r.cells.get(CELL);
  if (!cell) throw new Error(`history row ${r.row.toString()} has no ${CELL} cell`);
  return JSON.parse(cell.toString()) as HistoryEvent;
}
