import { Command } from 'commander';
import { batchCommand } from './commands/batch.js';
import { benchCommand } from './commands/bench.js';
import { chaosCommand } from './commands/chaos.js';
import { configCommand } from './commands/config.js';
import { dashboardsCommand } from './commands/dashboards.js';
import { datasetCommand } from './commands/dataset.js';
import { demoCommand } from './commands/demo.js';
import { docsCommand } from './commands/docs.js';
import { experimentCommand } from './commands/experiment.js';
import { infraCommand } from './commands/infra.js';
import { evalCommand, trainCommand } from './commands/model.js';
import { seenCommand } from './commands/seen.js';
import {
  appsCommand,
  ingestCommand,
  openapiCommand,
  replayCommand,
  serveCommand,
  streamCommand,
} from './commands/streams.js';
import { CommanderExit } from './failure.js';

/** Every command of the CLI; commander throws (CommanderExit) instead of exiting, so main decides the code. */
export function buildProgram(): Command {
  const program = new Command()
    .name('towerflow')
    .description(
      'Streaming two-tower recall: Kafka -> HBase + Redis, daily retrain into Milvus, online recall',
    )
    .showHelpAfterError();

  for (const make of [
    infraCommand,
    configCommand,
    demoCommand,
    trainCommand,
    evalCommand,
    datasetCommand,
    benchCommand,
    chaosCommand,
    ingestCommand,
    streamCommand,
    replayCommand,
    appsCommand,
    openapiCommand,
    batchCommand,
    experimentCommand,
    serveCommand,
    seenCommand,
    dashboardsCommand,
    docsCommand,
  ])
    program.addCommand(make());
  // addCommand does not pass settings down, so each command gets the override itself
  const override = (c: Command): void => {
    c.exitOverride((e) => {
      throw new CommanderExit(e.exitCode);
    });
    for (const sub of c.commands) override(sub);
  };
  override(program);
  return program;
}
