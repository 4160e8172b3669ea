import { createRequire } from 'node:module';
import path from 'node:path';
import { type Config, projectRoot } from '../../config/index.js';
import { HBaseError } from './errors.js';
import type { Bytes, Cells, HRow, PutRow, ScanOptions } from './types.js';
import { columnParts, encodeExistsAll, encodePutMultiple } from './wire.js';

// HBase through its Thrift2 gateway (docs/decisions.md: hbase-rpc-client cannot locate regions
// on HBase 2 and silently truncates scans). Stubs are generated from the gateway jar's own IDL
// by scripts/gen-hbase-thrift.sh into clients/hbase/gen/.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: generated CommonJS stubs without usable typings
type Any = any;
const thrift = require('thrift') as Any;
const Int64 = require('node-int64') as Any;
const genDir = path.join(projectRoot(), 'clients', 'hbase', 'gen');
function loadStubs(): { Service: Any; T: Any } {
  try {
    return {
      Service: require(path.join(genDir, 'THBaseService.js')),
      T: require(path.join(genDir, 'hbase_types.js')),
    };
  } catch (e) {
    // an HBaseError: the CLI prints it as one line (the stack would only show the require)
    throw new HBaseError(
      `HBase Thrift2 stubs missing in ${genDir} (${(e as Error).message.split('\n')[0]}); run scripts/gen-hbase-thrift.sh or scripts/bootstrap.sh`,
    );
  }
}
const { Service, T } = loadStubs();

export type { Bytes, Cells, HRow, PutRow, ScanOptions };

const buf = (b: Bytes): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b));

export { HBaseError };

function splitColumn(col: string): [Buffer, Buffer] {
  const [family, qualifier] = columnParts(col);
  return [Buffer.from(family), Buffer.from(qualifier)];
}

function toColumnValues(cells: Cells): Any[] {
  return Object.entries(cells).map(([col, value]) => {
    const [family, qualifier] = splitColumn(col);
    return new T.TColumnValue({ family, qualifier, value: buf(value) });
  });
}

function toColumns(columns?: string[]): Any[] | undefined {
  return columns?.map((c) => {
    const [family, qualifier] = splitColumn(c);
    return new T.TColumn({ family, qualifier });
  });
}

function fromResult(r: Any): HRow | undefined {
  if (!r?.row) return undefined;
  const cells = new Map<string, Buffer>();
  for (const cv of r.columnValues ?? [])
    cells.set(`${cv.family.toString()}:${cv.qualifier.toString()}`, cv.value);
  return { row: r.row, cells };
}

function describeError(e: unknown): string {
  const err = e as { message?: string; name?: string };
  return err?.message ?? (typeof e === 'object' ? JSON.stringify(e) : String(e));
}

class Lane {
  private conn: Any;
  private client: Any;
  private opening?: Promise<void>;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private open(): Promise<void> {
    this.opening ??= new Promise<void>((resolve, reject) => {
      const conn = thrift.createConnection(this.host, this.port, {
        transport: thrift.TBufferedTransport,
        protocol: thrift.TBinaryProtocol,
        connect_timeout: 5000,
        timeout: 60_000,
        max_attempts: 0,
      });
      let ready = false;
      conn.on('error', (e: Error) => {
        if (!ready)
          reject(new HBaseError(`HBase Thrift2 gateway ${this.host}:${this.port} unreachable: ${e.message}`));
        this.reset();
      });
      conn.on('close', () => this.reset());
      conn.on('connect', () => {
        ready = true;
        this.conn = conn;
        this.client = thrift.createClient(Service, conn);
        resolve();
      });
    }).catch((e) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  private reset(): void {
    this.opening = undefined;
    this.client = undefined;
    try {
      this.conn?.end();
    } catch {
      // already closed
    }
    this.conn = undefined;
  }

  async call<R>(fn: (client: Any) => Promise<R>): Promise<R> {
    if (!this.client) await this.open();
    try {
      return await fn(this.client);
    } catch (e) {
      if (e instanceof HBaseError) throw e;
      throw new HBaseError(describeError(e));
    }
  }

  /**
   * A call whose message `encode(seqid)` already holds (clients/hbase/wire.ts), written to the
   * connection as is; the generated stub's `recv_` reads the answer, as for any other call.
   */
  async callEncoded<R>(encode: (seqid: number) => Buffer): Promise<R> {
    return this.call(
      (client) =>
        new Promise<R>((resolve, reject) => {
          client._seqid = client.new_seqid();
          const seqid: number = client.seqid();
          client._reqs[seqid] = (err: unknown, result: R) => (err ? reject(err) : resolve(result));
          try {
            this.conn.write(encode(seqid));
          } catch (e) {
            delete client._reqs[seqid];
            reject(e);
          }
        }),
    );
  }

  close(): void {
    this.reset();
  }
}

/**
 * A small pool of Thrift2 connections (the gateway serves one request at a time per
 * connection; 4 connections gave 1.7× the puts/s of one in bench/hbase.ts).
 */
export class HBaseClient {
  private readonly lanes: Lane[];
  private next = 0;

  constructor(
    host: string,
    port: number,
    poolSize: number,
    readonly namespace: string,
  ) {
    loadStubs();
    this.lanes = Array.from({ length: Math.max(1, poolSize) }, () => new Lane(host, port));
  }

  static fromConfig(
    cfg: Pick<Config, 'hbaseThriftAddress' | 'hbaseThriftPool' | 'hbaseNamespace'>,
  ): HBaseClient {
    const [host, port] = cfg.hbaseThriftAddress.split(':');
    return new HBaseClient(
      host || '127.0.0.1',
      Number(port) || 9095,
      cfg.hbaseThriftPool,
      cfg.hbaseNamespace,
    );
  }

  private lane(): Lane {
    const lane = this.lanes[this.next % this.lanes.length] as Lane;
    this.next++;
    return lane;
  }

  /** `namespace:table` bytes for data calls. */
  private qualified(table: string): Buffer {
    return Buffer.from(table.includes(':') ? table : `${this.namespace}:${table}`);
  }

  private tableName(table: string): Any {
    const [ns, q] = table.includes(':') ? table.split(':') : [this.namespace, table];
    return new T.TTableName({ ns: Buffer.from(ns as string), qualifier: Buffer.from(q as string) });
  }

  // ---- data --------------------------------------------------------------------------------

  put(table: string, row: Bytes, cells: Cells): Promise<void> {
    return this.lane().call((c) =>
      c.put(this.qualified(table), new T.TPut({ row: buf(row), columnValues: toColumnValues(cells) })),
    );
  }

  putMany(table: string, rows: PutRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const t = this.qualified(table);
    return this.lane().callEncoded((seqid) => encodePutMultiple(seqid, t, rows));
  }

  async get(table: string, row: Bytes, columns?: string[]): Promise<HRow | undefined> {
    const r = await this.lane().call((c) =>
      c.get(this.qualified(table), new T.TGet({ row: buf(row), columns: toColumns(columns) })),
    );
    return fromResult(r);
  }

  /** One entry per requested row, `undefined` where the row does not exist. */
  async getMany(table: string, rows: Bytes[], columns?: string[]): Promise<(HRow | undefined)[]> {
    if (rows.length === 0) return [];
    const gets = rows.map((row) => new T.TGet({ row: buf(row), columns: toColumns(columns) }));
    const res: Any[] = await this.lane().call((c) => c.getMultiple(this.qualified(table), gets));
    return res.map(fromResult);
  }

  /** Whether each row exists (one round trip; the server answers from bloom filters and block indexes). */
  async existsMany(table: string, rows: Bytes[]): Promise<boolean[]> {
    if (rows.length === 0) return [];
    const t = this.qualified(table);
    return this.lane().callEncoded((seqid) => encodeExistsAll(seqid, t, rows));
  }

  /** Rows in key order from `start` (inclusive) to `stop` (exclusive), fetched `batch` at a time. */
  async *scan(table: string, opts: ScanOptions = {}): AsyncGenerator<HRow> {
    const batch = Math.max(1, Math.min(opts.batch ?? 1000, 10_000));
    const lane = this.lane();
    const scan = new T.TScan({
      startRow: opts.start !== undefined ? buf(opts.start) : undefined,
      stopRow: opts.stop !== undefined ? buf(opts.stop) : undefined,
      caching: batch,
      columns: toColumns(opts.columns),
      reversed: opts.reversed ?? false,
      timeRange: opts.timeRange
        ? new T.TTimeRange({
            minStamp: new Int64(opts.timeRange.min),
            maxStamp: new Int64(opts.timeRange.max),
          })
        : undefined,
    });
    const id: number = await lane.call((c) => c.openScanner(this.qualified(table), scan));
    let emitted = 0;
    try {
      for (;;) {
        const rows: Any[] = await lane.call((c) => c.getScannerRows(id, batch));
        for (const r of rows) {
          const row = fromResult(r);
          if (!row) continue;
          yield row;
          if (opts.limit !== undefined && ++emitted >= opts.limit) return;
        }
        if (rows.length < batch) return;
      }
    } finally {
      await lane.call((c) => c.closeScanner(id)).catch(() => {});
    }
  }

  async scanAll(table: string, opts: ScanOptions = {}): Promise<HRow[]> {
    const out: HRow[] = [];
    for await (const r of this.scan(table, opts)) out.push(r);
    return out;
  }

  delete(table: string, row: Bytes, columns?: string[]): Promise<void> {
    return this.lane().call((c) =>
      c.deleteSingle(this.qualified(table), new T.TDelete({ row: buf(row), columns: toColumns(columns) })),
    );
  }

  async deleteMany(table: string, rows: Bytes[]): Promise<void> {
    if (rows.length === 0) return;
    const dels = rows.map((row) => new T.TDelete({ row: buf(row) }));
    const failed: Any[] = await this.lane().call((c) => c.deleteMultiple(this.qualified(table), dels));
    if (failed.length > 0) throw new HBaseError(`${failed.length} deletes were not applied`);
  }

  /** Atomically adds `amount` to a 64-bit counter cell and returns the new value. */
  async increment(table: string, row: Bytes, column: string, amount: number | bigint): Promise<bigint> {
    const [family, qualifier] = splitColumn(column);
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(amount));
    const r = await this.lane().call((c) =>
      c.increment(
        this.qualified(table),
        new T.TIncrement({
          row: buf(row),
          columns: [new T.TColumnIncrement({ family, qualifier, amount: new Int64(b) })],
        }),
      ),
    );
    const v = fromResult(r)?.cells.get(column);
    if (v?.length !== 8) throw new HBaseError(`increment of ${column} returned no counter`);
    return v.readBigInt64BE(0);
  }

  /** Puts only if `column` currently holds `expected` (undefined: the cell must be absent). */
  checkAndPut(
    table: string,
    row: Bytes,
    column: string,
    expected: Bytes | undefined,
    cells: Cells,
  ): Promise<boolean> {
    const [family, qualifier] = splitColumn(column);
    return this.lane().call((c) =>
      c.checkAndPut(
        this.qualified(table),
        buf(row),
        family,
        qualifier,
        expected === undefined ? null : buf(expected),
        new T.TPut({ row: buf(row), columnValues: toColumnValues(cells) }),
      ),
    );
  }

  // ---- admin -------------------------------------------------------------------------------

  async ensureNamespace(name = this.namespace): Promise<boolean> {
    const names: string[] = await this.lane().call((c) => c.listNamespaces());
    if (names.includes(name)) return false;
    try {
      await this.lane().call((c) => c.createNamespace(new T.TNamespaceDescriptor({ name })));
    } catch (e) {
      // another process created it meanwhile
      if (/NamespaceExistException/.test((e as Error).message)) return false;
      throw e;
    }
    return true;
  }

  tableExists(table: string): Promise<boolean> {
    return this.lane().call((c) => c.tableExists(this.tableName(table)));
  }

  /** Creates the table with the given families, pre-split at `splits`; false when it exists. */
  async createTable(
    table: string,
    families: { name: string; maxVersions?: number; ttlSeconds?: number }[],
    splits: Bytes[] = [],
  ): Promise<boolean> {
    if (await this.tableExists(table)) return false;
    const desc = new T.TTableDescriptor({
      tableName: this.tableName(table),
      columns: families.map(
        (f) =>
          new T.TColumnFamilyDescriptor({
            name: Buffer.from(f.name),
            maxVersions: f.maxVersions ?? 1,
            timeToLive: f.ttlSeconds,
          }),
      ),
    });
    try {
      await this.lane().call((c) => c.createTable(desc, splits.map(buf)));
    } catch (e) {
      if (/TableExistsException/.test((e as Error).message)) return false;
      throw e;
    }
    return true;
  }

  async dropTable(table: string): Promise<void> {
    if (!(await this.tableExists(table))) return;
    const tn = this.tableName(table);
    if (await this.lane().call((c) => c.isTableEnabled(tn)))
      await this.lane().call((c) => c.disableTable(tn));
    await this.lane().call((c) => c.deleteTable(tn));
  }

  /**
   * Regions of the table. Right after a split the gateway throws (an NPE on a daughter region
   * that has no server yet) until the regions are assigned, so this retries for up to ~30 s.
   */
  async regionCount(table: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const locs: Any[] = await this.lane().call((c) => c.getAllRegionLocations(this.qualified(table)));
        return locs.length;
      } catch (e) {
        if (attempt >= 60 || !/Internal error/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Cheap liveness probe that needs an initialised master. */
  async ping(): Promise<void> {
    await this.lane().call((c) => c.listNamespaces());
  }

  close(): void {
    for (const l of this.lanes) l.close();
  }
}
