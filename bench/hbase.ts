// HBase through the Thrift2 gateway, with the project's HBaseClient at pool sizes 1 and 4.
//
//   npx tsx bench/hbase.ts [--json] [--rows 100000] [--gets 2000]
//
// Per pool size, into a fresh table pre-split in 4 regions (dropped afterwards):
//   puts/s   rows of one 100-byte cell, putMany batches of 500, `pool` batches in flight;
//   scan     rows/s of a full-table scan at scanner batch (caching) 1000 and 5000;
//   get      latency p50/p99 of sequential single-row gets of random existing rows.

import { HBaseClient } from '../clients/hbase/thrift2.js';
import { loadConfig } from '../config/index.js';
import {
  benchArgs,
  fnv1a,
  hostInfo,
  intOption,
  type LatencySummary,
  mulberry32,
  now,
  progress,
  Report,
  runConcurrent,
  runId,
  summarize,
  ticker,
} from './lib.js';

const POOLS = [1, 4];
const VALUE_BYTES = 100;
const PUT_BATCH = 500;
const SCAN_BATCHES = [1000, 5000];
const FAMILY = 'd';
const COLUMN = `${FAMILY}:v`;
/** Row keys start with 8 hex digits of a hash, so these split points give 4 even regions. */
const SPLITS = ['4', '8', 'c'];

/** Hash-prefixed, unique, evenly spread over the 4 regions. */
const rowKey = (i: number): string => `${fnv1a(String(i)).toString(16).padStart(8, '0')}-${i}`;

interface PutResult {
  pool: number;
  rows: number;
  seconds: number;
  rowsPerSec: number;
}
interface ScanResult {
  pool: number;
  batch: number;
  rows: number;
  seconds: number;
  rowsPerSec: number;
}
interface GetResult extends LatencySummary {
  pool: number;
}

function randomBytes(n: number, seed: number): Buffer {
  const rnd = mulberry32(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

async function benchPool(
  host: string,
  port: number,
  namespace: string,
  pool: number,
  rows: number,
  gets: number,
  values: Buffer,
  out: { puts: PutResult[]; scans: ScanResult[]; gets: GetResult[] },
): Promise<void> {
  const client = new HBaseClient(host, port, pool, namespace);
  const table = `bench_p${pool}_${runId()}`;
  try {
    await client.ensureNamespace();
    if (!(await client.createTable(table, [{ name: FAMILY }], SPLITS)))
      throw new Error(`table ${table} already exists`);
    const regions = await client.regionCount(table);
    progress(`pool ${pool}: created ${namespace}:${table} with ${regions} regions`);
    if (regions !== SPLITS.length + 1)
      throw new Error(`expected ${SPLITS.length + 1} regions, got ${regions}`);

    // puts: `pool` putMany calls in flight (the gateway serves one request per connection)
    const batches = Math.ceil(rows / PUT_BATCH);
    let written = 0;
    const stopTicker = ticker(`  pool ${pool} puts`, () => written, rows);
    const put = await runConcurrent(batches, pool, async (b) => {
      const start = b * PUT_BATCH;
      const end = Math.min(rows, start + PUT_BATCH);
      const batch = [];
      for (let i = start; i < end; i++)
        batch.push({
          row: rowKey(i),
          cells: { [COLUMN]: values.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES) },
        });
      await client.putMany(table, batch);
      written += end - start;
    }).finally(stopTicker);
    out.puts.push({ pool, rows, seconds: put.seconds, rowsPerSec: rows / put.seconds });
    progress(`pool ${pool}: ${(rows / put.seconds).toFixed(0)} puts/s`);

    // full scans
    for (const batch of SCAN_BATCHES) {
      let seen = 0;
      const stopScan = ticker(`  pool ${pool} scan(batch ${batch})`, () => seen, rows);
      const t0 = now();
      try {
        for await (const r of client.scan(table, { batch })) {
          if (r.cells.get(COLUMN)?.length !== VALUE_BYTES) throw new Error(`bad cell in row ${r.row}`);
          seen++;
        }
      } finally {
        stopScan();
      }
      const seconds = (now() - t0) / 1000;
      if (seen !== rows) throw new Error(`scan returned ${seen} rows, expected ${rows}`);
      out.scans.push({ pool, batch, rows: seen, seconds, rowsPerSec: seen / seconds });
      progress(`pool ${pool}: scan batch ${batch}: ${(seen / seconds).toFixed(0)} rows/s`);
    }

    // sequential single gets of random existing rows
    const rnd = mulberry32(1000 + pool);
    const picks = Array.from({ length: gets }, () => Math.floor(rnd() * rows));
    const got = await runConcurrent(gets, 1, async (k) => {
      const i = picks[k] as number;
      const r = await client.get(table, rowKey(i));
      const v = r?.cells.get(COLUMN);
      if (!v?.equals(values.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES)))
        throw new Error(`get ${rowKey(i)} returned the wrong value`);
    });
    const s = summarize(got.latenciesMs);
    out.gets.push({ pool, ...s });
    progress(`pool ${pool}: get p50 ${s.p50_ms.toFixed(2)} ms, p99 ${s.p99_ms.toFixed(2)} ms`);
  } finally {
    await client
      .dropTable(table)
      .then(() => progress(`pool ${pool}: dropped ${table}`))
      .catch((e) => progress(`pool ${pool}: dropTable ${table} failed: ${e}`));
    client.close();
  }
}

async function main(): Promise<void> {
  const args = benchArgs(['rows', 'gets']);
  const rows = intOption(args, 'rows', 100_000);
  const gets = intOption(args, 'gets', 2000);
  const cfg = loadConfig();
  const [host, port] = cfg.hbaseThriftAddress.split(':');
  const report = new Report('hbase', args.json);

  progress(`generating ${rows.toLocaleString('en-US')} × ${VALUE_BYTES} B values`);
  const values = randomBytes(rows * VALUE_BYTES, 7);
  const out = { puts: [] as PutResult[], scans: [] as ScanResult[], gets: [] as GetResult[] };
  for (const pool of POOLS)
    await benchPool(
      host || '127.0.0.1',
      Number(port) || 9095,
      cfg.hbaseNamespace,
      pool,
      rows,
      gets,
      values,
      out,
    );

  const putsPerSec = (pool: number) => out.puts.find((p) => p.pool === pool)?.rowsPerSec ?? Number.NaN;
  const poolSpeedup = putsPerSec(4) / putsPerSec(1);

  report.table(
    `puts: ${rows.toLocaleString('en-US')} rows × ${VALUE_BYTES} B, putMany(${PUT_BATCH}), table pre-split in ${SPLITS.length + 1} regions`,
    ['pool', 'in_flight', 'seconds', 'rows/s', 'MB/s'],
    out.puts.map((p) => [p.pool, p.pool, p.seconds, p.rowsPerSec, (p.rowsPerSec * VALUE_BYTES) / 1e6]),
  );
  report.table(
    'full scan (one scanner)',
    ['pool', 'batch', 'rows', 'seconds', 'rows/s'],
    out.scans.map((s) => [s.pool, s.batch, s.rows, s.seconds, s.rowsPerSec]),
  );
  report.table(
    `single get, ${gets} random existing rows, sequential`,
    ['pool', 'n', 'p50_ms', 'p99_ms', 'mean_ms', 'max_ms'],
    out.gets.map((g) => [g.pool, g.n, g.p50_ms, g.p99_ms, g.mean_ms, g.max_ms]),
  );
  report.note(`puts/s pool 4 / pool 1 = ${poolSpeedup.toFixed(2)}×`);
  report.note(`gateway ${cfg.hbaseThriftAddress}, namespace ${cfg.hbaseNamespace}`);
  report.finish({
    host: await hostInfo(),
    gateway: cfg.hbaseThriftAddress,
    params: {
      rows,
      value_bytes: VALUE_BYTES,
      put_batch: PUT_BATCH,
      regions: SPLITS.length + 1,
      pools: POOLS,
      gets,
    },
    puts: out.puts,
    scans: out.scans,
    gets: out.gets,
    puts_pool4_over_pool1: poolSpeedup,
  });
}

main().catch((e) => {
  progress(`hbase bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
