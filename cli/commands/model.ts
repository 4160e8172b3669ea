import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../../config/index.js';
import { positiveInt, positiveNumber } from '../options.js';

/** Events per prequential window (ranked before their updates apply). */
const PREQUENTIAL_WINDOW = 64;

interface ModelOpts {
  dataset: string;
  epochs?: number;
  batchSize?: number;
  dim?: number;
  negatives?: number;
  temperature?: number;
  lrFinal?: number;
  idDropout?: number;
  seed?: number;
}

function withModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--dataset <dir>', 'dataset folder (project format or MovieLens ratings.csv/movies.csv)')
    .option('--epochs <n>', 'training epochs', positiveInt('--epochs'))
    .option('--batch-size <n>', 'examples per step', positiveInt('--batch-size'))
    .option('--dim <n>', 'output dimension of both towers', positiveInt('--dim'))
    .option('--negatives <n>', 'uniform random negatives per batch', positiveInt('--negatives'))
    .option('--temperature <t>', 'softmax temperature', positiveNumber('--temperature'))
    .option(
      '--lr-final <f>',
      'learning rate at the last step as a fraction of the first (cosine decay; 1 = constant)',
      positiveNumber('--lr-final'),
    )
    .option(
      '--id-dropout <p>',
      'share of training examples whose user ID is replaced by the OOV row (0 = off)',
      (v: string) => {
        const p = Number(v);
        if (!(p >= 0 && p < 1)) throw new InvalidArgumentError('--id-dropout must be in [0, 1)');
        return p;
      },
    )
    .option('--seed <n>', 'random seed', positiveInt('--seed'));
}

function fitOptions(o: ModelOpts) {
  return {
    train: {
      ...(o.epochs ? { epochs: o.epochs } : {}),
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      ...(o.negatives ? { randomNegatives: o.negatives } : {}),
      ...(o.seed ? { seed: o.seed } : {}),
      ...(o.lrFinal ? { finalLearningRate: o.lrFinal } : {}),
      ...(o.idDropout !== undefined ? { idDropout: o.idDropout } : {}),
    },
    towers: {
      ...(o.dim ? { outDim: o.dim } : {}),
      ...(o.temperature ? { temperature: o.temperature } : {}),
    },
  };
}

async function progressReporter(totalSteps: number) {
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    {
      format: 'train |{bar}| {percentage}% step {value}/{total} | loss {loss} | {sps} samples/s | ETA {eta}s',
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(totalSteps, 0, { loss: '-', sps: '-' });
  return {
    onStep: (s: { step: number; loss: number; samplesPerSecond: number }) =>
      bar.update(s.step, {
        loss: s.loss.toFixed(3),
        sps: Math.round(s.samplesPerSecond).toLocaleString('en-US'),
      }),
    stop: () => bar.stop(),
  };
}

/**
 * Shared by train and eval: load the dataset (reporting skipped rows and interactions on items
 * without an item-file row) and set up the progress bar; `trainShare` is the part of the
 * interactions the run trains on.
 */
async function prepareRun(o: ModelOpts, trainShare = 1) {
  const { loadDataset } = await import('../../model/data/load.js');
  const { idOnlyNote } = await import('../../model/data/types.js');
  const { DEFAULT_TRAIN } = await import('../../model/train.js');
  const ds = await loadDataset(o.dataset);
  for (const s of ds.skipped) process.stderr.write(`skipped ${s.count} rows: ${s.reason}\n`);
  if (ds.idOnly) process.stderr.write(`${idOnlyNote(ds.idOnly)}\n`);
  const opts = fitOptions(o);
  const steps =
    Math.floor((ds.interactions.length * trainShare) / (opts.train.batchSize ?? DEFAULT_TRAIN.batchSize)) *
    (opts.train.epochs ?? DEFAULT_TRAIN.epochs);
  const progress = await progressReporter(steps);
  return { ds, opts: { ...opts, onStep: progress.onStep }, done: progress.stop };
}

export function trainCommand(): Command {
  return withModelOptions(new Command('train'))
    .description('train the two towers on a dataset and save a model version')
    .option('--out <dir>', 'version directory to write (default: $TOWERFLOW_HOME/models/v<timestamp>)')
    .option('--init-from <dir>', 'warm-start from a previous model version')
    .action(async (o: ModelOpts & { out?: string; initFrom?: string }) => {
      const { trainAndSave } = await import('../model-jobs.js');
      const cfg = loadConfig();
      const out =
        o.out ??
        path.join(cfg.homeDir, 'models', `v${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`);
      const run = await prepareRun(o);
      const saved = await trainAndSave(run.ds, out, { ...run.opts, initFrom: o.initFrom });
      run.done();
      process.stdout.write(`${JSON.stringify(saved, null, 2)}\n`);
    });
}

interface PrequentialOpts {
  prequential?: boolean;
  trainFraction?: number;
  window?: number;
  idLr?: number;
  idSteps?: number;
  idNegatives?: number;
  idClip?: number;
  idMaxNorm?: number;
  chart?: string;
}

function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('--train-fraction must be between 0 and 1');
  return n;
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('--id-max-norm must be 0 or more');
  return n;
}

/** `eval --prequential`: time-ordered test-then-train of the incremental ID rows (model/eval/prequential.ts). */
async function prequential(o: ModelOpts & PrequentialOpts & { json?: boolean }) {
  const { runPrequentialEvaluation, formatPrequential } = await import('../model-jobs.js');
  const { incrementalFromSettings } = await import('../../model/incremental.js');
  const cfg = loadConfig();
  const share = o.trainFraction ?? 0.8;
  const run = await prepareRun(o, share);
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    {
      format:
        'prequential |{bar}| {percentage}% event {value}/{total} | HR@50 baseline {base} incremental {incr} | ETA {eta}s',
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let walking = false;
  const defaults = incrementalFromSettings(cfg);
  const report = await runPrequentialEvaluation(run.ds, {
    fit: run.opts,
    trainFraction: share,
    // dataset events, not wall time: 2048 MovieLens ratings span months, a 2048-event micro-batch
    // of a live stream seconds; so the experiment keeps its own, small default
    window: o.window ?? PREQUENTIAL_WINDOW,
    incremental: {
      learningRate: o.idLr ?? defaults.learningRate,
      steps: o.idSteps ?? defaults.steps,
      negatives: o.idNegatives ?? defaults.negatives,
      clipNorm: o.idClip ?? defaults.clipNorm,
      maxRowNorm: o.idMaxNorm ?? defaults.maxRowNorm,
    },
    chart: o.chart,
    onProgress: (p) => {
      if (!walking) {
        run.done();
        bar.start(p.total, 0, { base: '-', incr: '-' });
        walking = true;
      }
      bar.update(p.done, { base: p.baseline.toFixed(3), incr: p.incremental.toFixed(3) });
    },
  });
  if (walking) bar.stop();
  else run.done();
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${formatPrequential(report)}\n`);
}

export function evalCommand(): Command {
  return withModelOptions(new Command('eval'))
    .description(
      'leave-last-out evaluation (DESIGN §6): two-tower vs popularity and item-kNN, trained and tested here; with --prequential, incremental ID rows vs none on a time split',
    )
    .option('--ann', 'also rank through a Milvus HNSW index (needs Milvus, MILVUS_ADDRESS)')
    .option('--json', 'print one JSON object on stdout')
    .addOption(
      new Option(
        '--prequential',
        'train on the earliest part, then rank-then-apply every later event in time order',
      ).conflicts('ann'),
    )
    .option(
      '--train-fraction <f>',
      'prequential: share of the interactions, by time, to train on (0.8)',
      fraction,
    )
    .option(
      '--window <n>',
      `prequential: events ranked before their ID updates apply (default ${PREQUENTIAL_WINDOW})`,
      positiveInt('--window'),
    )
    .option(
      '--id-lr <x>',
      'prequential: ID-row learning rate (EMBEDDINGS_LEARNING_RATE)',
      positiveNumber('--id-lr'),
    )
    .option(
      '--id-steps <n>',
      'prequential: ID-row steps per window (EMBEDDINGS_STEPS)',
      positiveInt('--id-steps'),
    )
    .option(
      '--id-negatives <n>',
      'prequential: negatives per ID-row step (EMBEDDINGS_NEGATIVES)',
      positiveInt('--id-negatives'),
    )
    .option(
      '--id-clip <x>',
      'prequential: ID-row gradient clip (EMBEDDINGS_CLIP_NORM)',
      positiveNumber('--id-clip'),
    )
    .option(
      '--id-max-norm <x>',
      "prequential: ID-row max norm, 0 = the table's largest (EMBEDDINGS_MAX_ROW_NORM)",
      nonNegative,
    )
    .option('--chart <png>', 'prequential: also draw the cumulative HR@50 curves to this PNG')
    .action(async (o: ModelOpts & PrequentialOpts & { ann?: boolean; json?: boolean }) => {
      if (o.prequential) {
        await prequential(o);
        return;
      }
      const { runEvaluation, formatReport } = await import('../model-jobs.js');
      const run = await prepareRun(o);
      // evaluateTwoTower's notes (each kNN baseline's time, or why it was skipped), after the bar
      const notes: string[] = [];
      const opts = { ...run.opts, onNote: (line: string) => notes.push(line) };
      const report = await runEvaluation(run.ds, opts, o.ann ? loadConfig() : undefined);
      run.done();
      for (const line of notes) process.stderr.write(`${line}\n`);
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(`${formatReport(report)}\n`);
    });
}
