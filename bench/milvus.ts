// Milvus through the project's item vector store: insert, index build, search latency and recall.
//
//   npx tsx bench/milvus.ts [--json] [--items 100000] [--queries 500] [--concurrency 8]
//                           [--recall-queries 200] [--ef 64] [--collections 1]
//
// N random 64-d unit vectors (deterministic seed) into a fresh collection (dropped afterwards):
//   insert        rows/s, batches of 5000 (time inside insert calls only), then flush;
//   index_build   createIndex HNSW (M 16, efConstruction 200) + load;
//   search        top-10, ef 64, inner product: sequential p50/p99, then `concurrency` in flight;
//   recall@10     ANN top-10 vs exact brute-force top-10 (computed here) on the first queries.
//   memory        the local Milvus server's resident memory (its process group) before and
//                 after each collection is loaded; `--collections 2` holds two loaded at once,
//                 as an experiment does (its control's and its candidate's), with the item
//                 scalars every served collection carries (category, published_at).

import { freemem, totalmem } from 'node:os';
import { MilvusConnection } from '../clients/milvus/connection.js';
import { loadConfig } from '../config/index.js';
import { localPaths } from '../infra/local/paths.js';
import { groupRssBytes, readPid } from '../infra/local/process.js';
import { ITEM_SCALARS } from '../stores/vectors/item-fields.js';
import { MilvusItemVectorStore } from '../stores/vectors/milvus.js';
import {
  benchArgs,
  hostInfo,
  intOption,
  now,
  progress,
  Report,
  randomUnitVectors,
  row,
  runConcurrent,
  runId,
  summarize,
  ticker,
} from './lib.js';

const DIM = 64;
const INSERT_BATCH = 5000;
const K = 10;
const HNSW = { M: 16, efConstruction: 200 };

/** Indices of the k largest inner products of `q` with every row of `data`, best first. */
function exactTopK(data: Float32Array, n: number, q: Float32Array, k: number): number[] {
  const topIdx: number[] = [];
  const topScore: number[] = [];
  for (let i = 0; i < n; i++) {
    const off = i * DIM;
    let s = 0;
    for (let d = 0; d < DIM; d++) s += (data[off + d] as number) * (q[d] as number);
    if (topIdx.length === k && s <= (topScore[k - 1] as number)) continue;
    let j = topIdx.length === k ? k - 1 : topIdx.length;
    while (j > 0 && (topScore[j - 1] as number) < s) {
      topScore[j] = topScore[j - 1] as number;
      topIdx[j] = topIdx[j - 1] as number;
      j--;
    }
    topScore[j] = s;
    topIdx[j] = i;
  }
  return topIdx;
}

/** Creates, fills (item scalars included), indexes and loads one collection; its timings. */
async function buildCollection(milvus: MilvusItemVectorStore, name: string, data: Float32Array, n: number) {
  await milvus.create(name, { dim: DIM, scalars: ITEM_SCALARS, description: 'towerflow bench' });
  progress(`created collection ${milvus.collectionOf(name)}`);
  let inserted = 0;
  let insertMs = 0;
  const stopInsert = ticker('  insert', () => inserted, n);
  const tInsert0 = now();
  try {
    for (let start = 0; start < n; start += INSERT_BATCH) {
      const end = Math.min(n, start + INSERT_BATCH);
      const rows = [];
      for (let i = start; i < end; i++)
        rows.push({
          item_id: String(i),
          vector: row(data, DIM, i),
          category: `genre-${i % 20}`,
          published_at: 1_600_000_000_000 + i,
        });
      const t = now();
      const got = await milvus.insert(name, rows);
      insertMs += now() - t;
      if (got !== rows.length) throw new Error(`insert reported ${got} rows for a batch of ${rows.length}`);
      inserted = end;
    }
  } finally {
    stopInsert();
  }
  const insertWallS = (now() - tInsert0) / 1000;
  const insertS = insertMs / 1000;
  progress(`inserted ${n} rows: ${(n / insertS).toFixed(0)} rows/s`);
  let t = now();
  await milvus.flush(name);
  const flushS = (now() - t) / 1000;
  progress(`flush ${flushS.toFixed(2)} s; building HNSW index`);
  t = now();
  await milvus.buildIndex(name, HNSW);
  const createIndexS = (now() - t) / 1000;
  t = now();
  await milvus.load(name);
  const loadS = (now() - t) / 1000;
  progress(`createIndex ${createIndexS.toFixed(2)} s + load ${loadS.toFixed(2)} s`);
  return { insertS, insertWallS, flushS, createIndexS, loadS };
}

async function main(): Promise<void> {
  const args = benchArgs(['items', 'queries', 'concurrency', 'recall-queries', 'ef', 'collections']);
  const collections = intOption(args, 'collections', 1);
  const n = intOption(args, 'items', 100_000);
  const queries = intOption(args, 'queries', 500);
  const concurrency = intOption(args, 'concurrency', 8);
  const recallQueries = Math.min(queries, intOption(args, 'recall-queries', 200));
  const ef = intOption(args, 'ef', 64);
  const cfg = loadConfig();
  // the engine label is the configured one; the server's own version is reported too
  const engine = cfg.milvusEngine;
  const report = new Report('milvus', args.json);
  // a scratch alias of its own, one version: the bench's vectors
  const milvus = new MilvusItemVectorStore(MilvusConnection.fromConfig(cfg), `bench_items_${runId()}`);
  const names = Array.from({ length: collections }, (_, c) => (c === 0 ? 'bench' : `bench${c}`));
  const coll = names[0] as string;
  // the local server's resident memory (undefined when Milvus is not this machine's)
  const milvusPid = readPid(`${localPaths(cfg).run}/milvus.pid`);
  const rssMiB = (): number | undefined =>
    milvusPid === undefined ? undefined : groupRssBytes(milvusPid) / 2 ** 20;
  const memory: { after: string; milvus_rss_mib: number | undefined }[] = [
    { after: 'start', milvus_rss_mib: rssMiB() },
  ];

  progress(
    `engine ${engine} at ${cfg.milvusAddress}; generating ${n.toLocaleString('en-US')} × ${DIM}-d vectors`,
  );
  const data = randomUnitVectors(n, DIM, 1);
  const qs = randomUnitVectors(queries, DIM, 2);

  const version = await milvus.conn.client
    .getVersion()
    .then((v) => String(v.version ?? 'unknown'))
    .catch((e) => `unknown (${e})`);
  progress(`server version ${version}`);

  try {
    let insertS = 0;
    let insertWallS = 0;
    let flushS = 0;
    let createIndexS = 0;
    let loadS = 0;
    for (const name of names) {
      const r = await buildCollection(milvus, name, data, n);
      if (name === coll) ({ insertS, insertWallS, flushS, createIndexS, loadS } = r);
      memory.push({ after: `${milvus.collectionOf(name)} loaded`, milvus_rss_mib: rssMiB() });
      progress(
        `Milvus server resident memory: ${memory.map((m) => m.milvus_rss_mib?.toFixed(0) ?? '?').join(' → ')} MiB`,
      );
    }
    const indexBuildS = createIndexS + loadS;

    const count = await milvus.count(coll);
    if (count !== n) throw new Error(`collection holds ${count} rows, expected ${n}`);

    // sequential search; keep the hits of the first `recallQueries` for recall
    const annTop: number[][] = [];
    const search = async (i: number): Promise<number[]> => {
      const [hits = []] = await milvus.search(coll, [Array.from(qs.subarray(i * DIM, (i + 1) * DIM))], K, {
        ef,
        consistency: 'Bounded',
      });
      if (hits.length !== K) throw new Error(`search returned ${hits.length} hits, expected ${K}`);
      return hits.map((h) => Number(h.item_id));
    };
    progress(`sequential search: ${queries} queries`);
    let searched = 0;
    let stopSearch = ticker('  sequential search', () => searched, queries, 5000);
    const seq = await runConcurrent(queries, 1, async (i) => {
      const ids = await search(i);
      if (i < recallQueries) annTop[i] = ids;
      searched++;
    }).finally(stopSearch);
    const seqSum = summarize(seq.latenciesMs);

    progress(`search at concurrency ${concurrency}: ${queries} queries`);
    searched = 0;
    stopSearch = ticker(`  search c${concurrency}`, () => searched, queries, 5000);
    const conc = await runConcurrent(queries, concurrency, async (i) => {
      await search(i);
      searched++;
    }).finally(stopSearch);
    const concSum = summarize(conc.latenciesMs);
    const qps = queries / conc.seconds;

    progress(`exact top-${K} for ${recallQueries} queries (brute force over ${n.toLocaleString('en-US')})`);
    const t = now();
    let found = 0;
    for (let i = 0; i < recallQueries; i++) {
      const exact = new Set(exactTopK(data, n, qs.subarray(i * DIM, (i + 1) * DIM), K));
      for (const id of annTop[i] ?? []) if (exact.has(id)) found++;
    }
    const recall = found / (recallQueries * K);
    const bruteS = (now() - t) / 1000;

    report.table(
      `milvus (${engine}, ${version}) @ ${cfg.milvusAddress}: ${n.toLocaleString('en-US')} × ${DIM}-d unit vectors, IP`,
      ['phase', 'value', 'unit', 'detail'],
      [
        ['insert', n / insertS, 'rows/s', `batches of ${INSERT_BATCH}, ${insertS.toFixed(2)} s in insert()`],
        ['flush', flushS, 's', ''],
        [
          'index_build',
          indexBuildS,
          's',
          `createIndex HNSW M${HNSW.M} efC${HNSW.efConstruction} ${createIndexS.toFixed(2)} s + load ${loadS.toFixed(2)} s`,
        ],
        ['search seq p50', seqSum.p50_ms, 'ms', `top-${K}, ef ${ef}, ${queries} queries, 1 in flight`],
        ['search seq p99', seqSum.p99_ms, 'ms', `${(queries / seq.seconds).toFixed(0)} qps`],
        [`search c${concurrency} p50`, concSum.p50_ms, 'ms', `${concurrency} in flight, ${queries} queries`],
        [`search c${concurrency} p99`, concSum.p99_ms, 'ms', ''],
        [`search c${concurrency} qps`, qps, 'q/s', ''],
        [
          `recall@${K}`,
          recall,
          '',
          `${recallQueries} queries vs exact brute force (${bruteS.toFixed(1)} s in JS)`,
        ],
      ],
    );
    if (milvusPid !== undefined)
      report.table(
        `Milvus server resident memory with ${collections} loaded collection(s) of ${n.toLocaleString('en-US')} items (machine: ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${(freemem() / 2 ** 30).toFixed(1)} GiB free now)`,
        ['after', 'MiB'],
        memory.map((m) => [m.after, m.milvus_rss_mib ?? 0]),
      );
    report.note(`engine: ${engine} (MILVUS_ENGINE); server version: ${version}`);
    report.finish({
      host: await hostInfo(),
      engine,
      server_version: version,
      address: cfg.milvusAddress,
      params: {
        items: n,
        dim: DIM,
        insert_batch: INSERT_BATCH,
        index: { type: 'HNSW', ...HNSW, metric: 'IP' },
        k: K,
        ef,
        queries,
        concurrency,
        recall_queries: recallQueries,
        collections,
        scalars: ITEM_SCALARS.map((f) => f.name),
      },
      memory,
      machine_memory_gib: totalmem() / 2 ** 30,
      insert_rows_per_s: n / insertS,
      insert_seconds: insertS,
      insert_wall_seconds: insertWallS,
      flush_s: flushS,
      create_index_s: createIndexS,
      load_s: loadS,
      index_build_s: indexBuildS,
      search_seq: { ...seqSum, qps: queries / seq.seconds },
      search_concurrent: { concurrency, ...concSum, qps },
      recall_at_10: recall,
    });
  } finally {
    for (const name of names)
      await milvus
        .drop(name)
        .then(() => progress(`dropped ${milvus.collectionOf(name)}`))
        .catch((e) => progress(`dropCollection ${milvus.collectionOf(name)} failed: ${e}`));
    await milvus.close().catch(() => {});
  }
}

main().catch((e) => {
  progress(`milvus bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
