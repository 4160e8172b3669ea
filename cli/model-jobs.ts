import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Dataset } from '../model/data/types.js';
import { type PrequentialOptions, runPrequential } from '../model/eval/prequential.js';
import { type AnnIndex, disposeFitted, evaluateTwoTower } from '../model/evaluate.js';
import { type FitOptions, fitTwoTower } from '../model/pipeline.js';
import { smooth, writeLineChart } from '../model/plot.js';
import { saveVersion } from '../model/version.js';

/** `towerflow train`: fit on every interaction, save the version with its loss curve. */
export async function trainAndSave(ds: Dataset, out: string, opts: FitOptions) {
  const fitted = await fitTwoTower(ds, ds.interactions, opts);
  const r = fitted.result;
  const dir = await saveVersion(out, fitted.model, fitted.vocab, fitted.features, {
    version: path.basename(out),
    createdAt: new Date().toISOString(),
    dataset: ds.name,
    initFrom: opts.initFrom,
    training: {
      samples: r.samples,
      seconds: r.seconds,
      samplesPerSecond: r.samplesPerSecond,
      epochs: fitted.trainConfig.epochs,
      finalLoss: r.losses.at(-1)?.loss ?? Number.NaN,
    },
    trainConfig: fitted.trainConfig,
    skipped: ds.skipped,
    ...(ds.idOnly
      ? { idOnlyItems: { items: ds.idOnly.items.length, interactions: ds.idOnly.interactions } }
      : {}),
  });
  const points = r.losses.map((l) => ({ x: l.step, y: l.loss }));
  await writeLineChart(
    path.join(dir, 'loss.png'),
    `training loss (${ds.name})`,
    'step',
    'sampled-softmax loss',
    [
      { label: 'loss per step', points, color: '#c6dbef' },
      { label: 'moving average (20 steps)', points: smooth(points) },
    ],
  );
  disposeFitted(fitted);
  return {
    version: dir,
    samples: r.samples,
    seconds: Number(r.seconds.toFixed(1)),
    samplesPerSecond: Math.round(r.samplesPerSecond),
    finalLoss: r.losses.at(-1)?.loss,
    lossCurve: path.join(dir, 'loss.png'),
  };
}

/** A temporary Milvus collection with an HNSW index over the evaluation's item vectors. */
async function milvusAnn(cfg: Config, vectors: Float32Array, ids: string[], dim: number): Promise<AnnIndex> {
  const { openItemVectors } = await import('../stores/vectors/open.js');
  // a scratch alias of its own: its one version is the evaluation's corpus
  const store = openItemVectors(cfg, { alias: `eval_${randomUUID().replace(/-/g, '').slice(0, 12)}` });
  const corpus = 'corpus';
  await store.create(corpus, { dim, scalars: [] });
  // item ids in Milvus are corpus rows, mapped back on the way out
  for (let s = 0; s < ids.length; s += 5000) {
    const rows = [];
    for (let i = s; i < Math.min(ids.length, s + 5000); i++)
      rows.push({ item_id: String(i), vector: Array.from(vectors.subarray(i * dim, (i + 1) * dim)) });
    await store.insert(corpus, rows);
  }
  await store.flush(corpus);
  await store.buildIndex(corpus);
  await store.load(corpus);
  return {
    async search(queries, d, k) {
      const qs: number[][] = [];
      for (let i = 0; i < queries.length / d; i++) qs.push(Array.from(queries.subarray(i * d, (i + 1) * d)));
      // ef by the client's rule, serve's too (max(64, limit)): HR through the index at eval's
      // limits (hundreds), and recall at serve's smallest beam (annRecall)
      const hits = await store.search(corpus, qs, k, { consistency: 'Strong' });
      return hits.map((h) => h.map((x) => Number(x.item_id)));
    },
    async close() {
      await store.drop(corpus).catch(() => {});
      await store.close();
    },
  };
}

/** `towerflow eval`: the JSON report (`models` maps each model to its metrics; `users` = test users). */
export async function runEvaluation(ds: Dataset, opts: FitOptions, annConfig?: Config) {
  const report = await evaluateTwoTower(ds, {
    ...opts,
    ann: annConfig ? (v, ids, dim) => milvusAnn(annConfig, v, ids, dim) : undefined,
  });
  const { fitted, ...rest } = report;
  disposeFitted(fitted);
  const pick = (m: Record<string, number>) => ({
    'HR@10': m['HR@10'],
    'HR@20': m['HR@20'],
    'HR@50': m['HR@50'],
    'HR@100': m['HR@100'],
    'NDCG@10': m['NDCG@10'],
    'NDCG@50': m['NDCG@50'],
  });
  return {
    dataset: ds.name,
    users: rest.users,
    models: Object.fromEntries(Object.entries(rest.models).map(([k, v]) => [k, pick(v)])),
    training: {
      samples: rest.training.samples,
      seconds: Number(rest.training.seconds.toFixed(1)),
      samplesPerSecond: Math.round(rest.training.samplesPerSecond),
    },
    split: rest.split,
    ...(rest.annRecall ? { annRecall: rest.annRecall } : {}),
  };
}

export function formatReport(r: Awaited<ReturnType<typeof runEvaluation>>): string {
  const cols = ['HR@10', 'HR@20', 'HR@50', 'HR@100', 'NDCG@10', 'NDCG@50'] as const;
  const lines = [
    `${r.dataset}: ${r.users} test users, ${r.split.corpusItems} items ranked, ${r.split.trainRows} training rows`,
    `training: ${r.training.samples} samples in ${r.training.seconds} s (${r.training.samplesPerSecond} samples/s)`,
    '',
    ['model'.padEnd(18), ...cols.map((c) => c.padStart(8))].join(' '),
  ];
  for (const [name, m] of Object.entries(r.models))
    lines.push([name.padEnd(18), ...cols.map((c) => (m[c] ?? 0).toFixed(4).padStart(8))].join(' '));
  if (r.annRecall)
    lines.push(
      '',
      `ANN recall@${r.annRecall.k} at serve's smallest beam (limit ${r.annRecall.k}, ef max(64, limit)): ${r.annRecall.recall.toFixed(4)} of the exact top ${r.annRecall.k}`,
    );
  return lines.join('\n');
}

/** `towerflow eval --prequential`: the report, and the cumulative HR@50 curves drawn to `chart`. */
export async function runPrequentialEvaluation(ds: Dataset, opts: PrequentialOptions & { chart?: string }) {
  const r = await runPrequential(ds, opts);
  if (opts.chart)
    await writeLineChart(
      opts.chart,
      `prequential HR@50 (${ds.name}, window ${r.updates.window})`,
      'events ranked',
      'cumulative HR@50',
      [
        { label: 'baseline (history only)', points: r.curve.map((p) => ({ x: p.events, y: p.baseline })) },
        {
          label: 'incremental ID rows',
          points: r.curve.map((p) => ({ x: p.events, y: p.incremental })),
          color: '#d62728',
        },
      ],
    );
  return r;
}

export function formatPrequential(r: Awaited<ReturnType<typeof runPrequentialEvaluation>>): string {
  const cols = ['HR@10', 'HR@50', 'HR@100', 'NDCG@10', 'NDCG@50'] as const;
  const e = r.events;
  const u = r.updates;
  const c = u.config;
  const row = (name: string, m: Record<(typeof cols)[number], number>) =>
    [name.padEnd(26), ...cols.map((k) => m[k].toFixed(4).padStart(8))].join(' ');
  return [
    `${r.dataset}: trained on the first ${r.split.trainRows} rows (to ${new Date(r.split.cutTs * 1000).toISOString()}), walked ${r.split.testRows}; ${r.split.corpusItems} items ranked`,
    `events: ${e.evaluated} ranked, ${e.repeats} repeats applied unranked; ${e.testUsers} users (${e.newUsers} new, ${e.newUserEvents} of their events ranked); ${e.coldItemEvents} events on items unseen in training`,
    `updates: window ${u.window} events (${u.windows} windows, ${u.userUpdates} row updates), lr ${c.learningRate}, ${c.steps} steps, ${c.negatives} negatives, clip ${c.clipNorm}, max row norm ${u.maxRowNorm.toFixed(3)}; mean step ${u.meanStepNorm.toFixed(4)}, ${(u.clippedShare * 100).toFixed(1)}% clipped, ${u.projected} projected`,
    `users by their own HR@50, incremental vs baseline: ${r.usersHR50.better} better, ${r.usersHR50.worse} worse, ${r.usersHR50.same} same`,
    `time: fit ${r.seconds.fit.toFixed(1)} s (${r.training.epochs} epochs), walk ${r.seconds.walk.toFixed(1)} s`,
    '',
    ['arm'.padEnd(26), ...cols.map((k) => k.padStart(8))].join(' '),
    row('baseline (history only)', r.models.baseline),
    row('incremental ID rows', r.models.incremental),
    row('  new users: baseline', r.newUsers.baseline),
    row('  new users: incremental', r.newUsers.incremental),
  ].join('\n');
}
