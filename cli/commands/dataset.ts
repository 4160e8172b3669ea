import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/index.js';

interface SparseOpts {
  from: string;
  out?: string;
  keep: number;
  seed: number;
  dropEvery: number;
  json?: boolean;
}

function share(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('--keep must be in (0, 1]');
  return n;
}

function wholeNumber(name: string, min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return Number(v);
  };
}

export function datasetCommand(): Command {
  const dataset = new Command('dataset').description('derive benchmark datasets from a dataset');
  dataset
    .command('sparse')
    .description(
      "a sparse, tie-heavy dataset in the project format: a seeded share of each user's rows, timestamps cut to the UTC day, every n-th interacted item without an items.csv row, rows in a seeded random order",
    )
    .requiredOption('--from <dir>', 'source dataset (project format or MovieLens ratings.csv/movies.csv)')
    .option('--out <dir>', 'output folder (default: $TOWERFLOW_HOME/datasets/ml-sparse)')
    .option(
      '--keep <share>',
      "share of each user's rows kept (at least 2 per user with 2 or more)",
      share,
      0.25,
    )
    .option('--seed <n>', 'random seed', wholeNumber('--seed', 0), 1)
    .option(
      '--drop-every <n>',
      'every n-th interacted item (sorted IDs, index % n = n-1) gets no items.csv row; 0: none',
      (v: string) => {
        const n = wholeNumber('--drop-every', 0)(v);
        if (n === 1) throw new InvalidArgumentError('--drop-every must be 0 (none) or 2 or more');
        return n;
      },
      10,
    )
    .option('--json', 'print the summary as one JSON object on stdout')
    .action(async (o: SparseOpts) => {
      const { rm } = await import('node:fs/promises');
      const { loadDataset } = await import('../../model/data/load.js');
      const { sparsify } = await import('../../model/data/sparse.js');
      const { writeDatasetCsv } = await import('../../model/data/synthetic.js');
      const { DatasetError, idOnlyNote } = await import('../../model/data/types.js');
      const out = path.resolve(o.out ?? path.join(loadConfig().homeDir, 'datasets', 'ml-sparse'));
      if (out === path.resolve(o.from))
        throw new DatasetError(
          '--out is the --from folder; the source would be overwritten',
          { file: out },
          'pass another --out',
        );
      const source = await loadDataset(o.from);
      if (source.idOnly)
        process.stderr.write(`${idOnlyNote(source.idOnly, 'no items.csv row in the output either')}\n`);
      const { ds, stats } = sparsify(source, {
        keep: o.keep,
        seed: o.seed,
        dropEvery: o.dropEvery,
        name: path.basename(out),
      });
      // the three files are replaced; a users.csv of an earlier run must not outlive it
      for (const f of ['interactions.csv', 'items.csv', 'users.csv'])
        await rm(path.join(out, f), { force: true });
      await writeDatasetCsv(ds, out);
      const summary = {
        from: path.resolve(o.from),
        out,
        keep: o.keep,
        seed: o.seed,
        dropEvery: o.dropEvery,
        ...stats,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const n = (x: number) => x.toLocaleString('en-US');
      const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(1)}%`;
      process.stdout.write(
        [
          `wrote ${out} (from ${source.name}, keep ${o.keep}, seed ${o.seed}, drop every ${o.dropEvery})`,
          `  users: ${n(stats.users)} (${n(stats.evaluableUsers)} with two or more distinct items)`,
          `  rows: ${n(stats.rows)} of ${n(stats.sourceRows)} (${pct(stats.rows, stats.sourceRows)}); ${n(stats.tiedRows)} (${pct(stats.tiedRows, stats.rows)}) share their user's day with another row`,
          `  items: ${n(stats.interactedItems)} interacted, ${n(stats.corpusItems)} in the corpus`,
          `  items without an items.csv row: ${n(stats.itemsWithoutRow)} (${n(stats.droppedByRule)} by the every-${o.dropEvery} rule), ${n(stats.rowsOnItemsWithoutRow)} rows on them`,
          '',
        ].join('\n'),
      );
    });
  return dataset;
}
