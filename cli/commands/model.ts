import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { positiveInt, positiveNumber } from '../options.js';

interface ModelOpts {
  dataset: string;
  epochs?: number;
  batchSize?: number;
  dim?: number;
  negatives?: number;
  temperature?: number;
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
    .option('--seed <n>', 'random seed', positiveInt('--seed'));
}

function fitOptions(o: ModelOpts) {
  return {
    train: {
      ...(o.epochs ? { epochs: o.epochs } : {}),
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      ...(o.negatives ? { randomNegatives: o.negatives } : {}),
      ...(o.seed ? { seed: o.seed } : {}),
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

/** Shared by train and eval: load the dataset (reporting skipped rows) and set up the progress bar. */
async function prepareRun(o: ModelOpts) {
  const { loadDataset } = await import('../../model/data/load.js');
  const { DEFAULT_TRAIN } = await import('../../model/train.js');
  const ds = await loadDataset(o.dataset);
  for (const s of ds.skipped) process.stderr.write(`skipped ${s.count} rows: ${s.reason}\n`);
  const opts = fitOptions(o);
  const steps =
    Math.floor(ds.interactions.length / (opts.train.batchSize ?? DEFAULT_TRAIN.batchSize)) *
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
      const { trainAndSave } = await import('../../model/cli-jobs.js');
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

export function evalCommand(): Command {
  return withModelOptions(new Command('eval'))
    .description('leave-last-out evaluation (DESIGN §6): two-tower vs popularity, trained and tested here')
    .option('--ann', 'also rank through a Milvus HNSW index (needs Milvus, MILVUS_ADDRESS)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (o: ModelOpts & { ann?: boolean; json?: boolean }) => {
      const { runEvaluation, formatReport } = await import('../../model/cli-jobs.js');
      const run = await prepareRun(o);
      const report = await runEvaluation(run.ds, run.opts, o.ann ? loadConfig() : undefined);
      run.done();
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(`${formatReport(report)}\n`);
    });
}
