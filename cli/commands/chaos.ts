import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/index.js';
import { positiveInt, positiveNumber } from '../options.js';
import { formatTable } from '../output/table.js';
import { requireServices } from '../preflight.js';

/** `towerflow chaos`: kill -9 each component under load and count what was lost or doubled. */
export function chaosCommand(): Command {
  return new Command('chaos')
    .description(
      'fault drill: replay events at a fixed rate while recall is asked, kill -9 and restart a component, then check every store exactly',
    )
    .option('--fault <names...>', 'faults to drill, or "all" (default: all)', ['all'])
    .option('--rate <events/s>', 'behaviour events per second', positiveInt('--rate'), 1000)
    .option('--events <n>', 'events per fault', positiveInt('--events'), 15_000)
    .option('--down <seconds>', 'seconds between the kill and the restart', positiveNumber('--down'), 3)
    .option(
      '--seed-events <n>',
      'events replayed before the first publish',
      positiveInt('--seed-events'),
      20_000,
    )
    .option('--epochs <n>', 'training epochs of the drill’s daily jobs', positiveInt('--epochs'), 1)
    .option('--dataset <dir>', 'dataset to draw events from', 'datasets/ml-latest-small')
    .option('--json', 'print the report as one JSON object on stdout')
    .action(
      async (o: {
        fault: string[];
        rate: number;
        events: number;
        down: number;
        seedEvents: number;
        epochs: number;
        dataset: string;
        json?: boolean;
      }) => {
        const { FAULTS, isFault } = await import('../../chaos/faults.js');
        const names = o.fault.includes('all') ? [...FAULTS] : o.fault;
        const bad = names.filter((n) => !isFault(n));
        if (bad.length > 0)
          throw new InvalidArgumentError(
            `--fault: unknown ${bad.join(', ')}; one of all, ${FAULTS.join(', ')}`,
          );
        const cfg = loadConfig();
        await requireServices(cfg, ['kafka', 'redis', 'hbase', 'milvus']);
        const { runDrill } = await import('../../chaos/drill.js');
        const { reportRecords } = await import('../../chaos/report.js');
        const say = (m: string) => process.stderr.write(`chaos: ${m}\n`);
        const report = await runDrill({
          faults: names.filter(isFault),
          rate: o.rate,
          phaseEvents: o.events,
          downSeconds: o.down,
          seedEvents: o.seedEvents,
          epochs: o.epochs,
          dataset: path.resolve(cfg.root, o.dataset),
          redisDb: 4,
          portOffset: 60,
          say,
        });
        if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else process.stdout.write(formatTable(reportRecords(report.faults)));
        const failed = report.faults.filter((f) => f.lost + f.doubled + f.mixed_versions + f.recall_5xx > 0);
        if (failed.length > 0) {
          say(
            `FAILED: ${failed.map((f) => f.name).join(', ')} (lost, doubled, mixed versions or recall 5xx)`,
          );
          process.exitCode = 1;
        }
      },
    );
}
