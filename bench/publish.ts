// Publishing item vectors: a new collection per model version, as the daily job does it
// (batch/publish.ts): insert rate with 1 and with INSERTS_IN_FLIGHT batches in flight (side by
// side, same vectors), flush, HNSW index build, load, and the alias switch readers see. For
// reference, the same rows through the SDK's own row-based insert (what the job used before
// clients/milvus/columnWrite.ts), insert only.
// Usage: towerflow bench publish [--items 100000] [--dim 64] [--json]

import { randomBytes } from 'node:crypto';
import { buildCollection, INSERTS_IN_FLIGHT } from '../batch/publish.js';
import { MilvusConnection } from '../clients/milvus/connection.js';
import { loadConfig } from '../config/index.js';
import type { ItemRecord } from '../model/data/types.js';
import { ITEM_SCALARS, scalarsOf } from '../stores/vectors/item-fields.js';
import { MilvusItemVectorStore } from '../stores/vectors/milvus.js';
import { benchArgs, hostInfo, intOption, median, progress, Report, randomUnitVectors } from './lib.js';

const args = benchArgs(['items', 'dim']);
const N = intOption(args, 'items', 100_000);
const DIM = intOption(args, 'dim', 64);
const report = new Report('publish', args.json);
const cfg = loadConfig();
const tag = randomBytes(3).toString('hex');
// a scratch alias of its own: each build is one of its versions
const milvus = new MilvusItemVectorStore(MilvusConnection.fromConfig(cfg), `bench_publish_${tag}`);
const created: string[] = [];

const records: ItemRecord[] = Array.from({ length: N }, (_, i) => ({
  id: `item${i}`,
  categorical: { category: [`c${i % 20}`] },
  numeric: { published_at: 1_700_000_000_000 + i },
}));
const vectors = randomUnitVectors(N, DIM, 7);

try {
  const rows: (string | number)[][] = [];
  const results: Record<number, Awaited<ReturnType<typeof buildCollection>>> = {};
  for (const inFlight of [1, INSERTS_IN_FLIGHT]) {
    const version = `inflight-${inFlight}`;
    created.push(version);
    progress(
      `building ${milvus.collectionOf(version)}: ${N.toLocaleString('en-US')} × ${DIM}-d, ${inFlight} insert(s) in flight`,
    );
    const r = await buildCollection(milvus, version, records, vectors, DIM, undefined, inFlight);
    results[inFlight] = r;
    rows.push([
      `${inFlight} in flight`,
      r.rows / r.insertSeconds,
      r.insertSeconds,
      r.flushSeconds,
      r.indexSeconds,
      r.loadSeconds,
    ]);
  }
  const sdkRate = await sdkRowInsertRate();
  rows.push([`SDK row insert, ${INSERTS_IN_FLIGHT} in flight (reference)`, sdkRate, N / sdkRate, '', '', '']);
  const [a, b] = created as [string, string];
  await milvus.switchLive(a);
  const switches: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await milvus.switchLive(i % 2 === 0 ? b : a);
    switches.push(performance.now() - t0);
  }
  const best = results[INSERTS_IN_FLIGHT] as Awaited<ReturnType<typeof buildCollection>>;
  const single = results[1] as Awaited<ReturnType<typeof buildCollection>>;
  report.table(
    `Item vectors into a new collection (${N.toLocaleString('en-US')} × ${DIM}-d, HNSW M=16 efConstruction=200)`,
    ['inserts', 'vectors/s', 'insert s', 'flush s', 'index build s', 'load s'],
    rows,
  );
  report.table(
    'Alias switch (7 switches between the two collections)',
    ['median ms', 'max ms'],
    [[median(switches), Math.max(...switches)]],
  );
  report.note(
    `${INSERTS_IN_FLIGHT} in flight vs 1: ${(single.insertSeconds / best.insertSeconds).toFixed(2)}× the insert rate`,
  );
  report.note(
    `column-encoded vs SDK rows, ${INSERTS_IN_FLIGHT} in flight: ${(best.rows / best.insertSeconds / sdkRate).toFixed(2)}× the insert rate`,
  );
  report.finish({
    items: N,
    dim: DIM,
    vectors_per_s: Math.round(best.rows / best.insertSeconds),
    vectors_per_s_single: Math.round(single.rows / single.insertSeconds),
    vectors_per_s_sdk_rows: Math.round(sdkRate),
    flush_s: best.flushSeconds,
    index_build_s: best.indexSeconds,
    load_s: best.loadSeconds,
    alias_switch_ms: median(switches),
    host: await hostInfo(),
  });
} finally {
  await milvus.dropLive().catch(() => {});
  for (const v of created) await milvus.drop(v).catch(() => {});
  await milvus.close();
}

/** Vectors/s of the SDK's row-based insert (row → column conversion in the SDK), same rows and batches. */
async function sdkRowInsertRate(): Promise<number> {
  const version = 'sdk';
  const name = milvus.collectionOf(version);
  created.push(version);
  progress(`inserting into ${name} through the SDK's row API, ${INSERTS_IN_FLIGHT} in flight`);
  await milvus.create(version, { dim: DIM, scalars: ITEM_SCALARS });
  const batch = 5000;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: INSERTS_IN_FLIGHT }, async () => {
      for (let i = next; i < N; i = next) {
        next += batch;
        const data = records.slice(i, i + batch).map((r, j) => ({
          item_id: r.id,
          vector: Array.from(vectors.subarray((i + j) * DIM, (i + j + 1) * DIM)),
          ...scalarsOf(r),
        }));
        // toJSON: keeps the SDK's debug log from stringifying the whole request (as the job did)
        const res = await milvus.conn.client.insert({
          collection_name: name,
          data,
          toJSON: () => name,
        } as never);
        if (res.status.error_code !== 'Success') throw new Error(`SDK insert: ${res.status.reason}`);
      }
    }),
  );
  const rate = N / ((performance.now() - t0) / 1000);
  await milvus.drop(version);
  return rate;
}
