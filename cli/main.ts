import { Command } from 'commander';
import { ConfigError } from '../config/index.js';
import { InfraError } from '../infra/local/process.js';
import { DatasetError } from '../model/data/types.js';
import { batchCommand } from './commands/batch.js';
import { benchCommand } from './commands/bench.js';
import { configCommand } from './commands/config.js';
import { dashboardsCommand } from './commands/dashboards.js';
import { datasetCommand } from './commands/dataset.js';
import { demoCommand } from './commands/demo.js';
import { docsCommand } from './commands/docs.js';
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

const program = new Command()
  .name('towerflow')
  .description('Streaming two-tower recall: Kafka -> HBase + Redis, daily retrain into Milvus, online recall')
  .showHelpAfterError();

program.addCommand(infraCommand());
program.addCommand(configCommand());
program.addCommand(demoCommand());
program.addCommand(trainCommand());
program.addCommand(evalCommand());
program.addCommand(datasetCommand());
program.addCommand(benchCommand());
program.addCommand(ingestCommand());
program.addCommand(streamCommand());
program.addCommand(replayCommand());
program.addCommand(appsCommand());
program.addCommand(openapiCommand());
program.addCommand(batchCommand());
program.addCommand(serveCommand());
program.addCommand(seenCommand());
program.addCommand(dashboardsCommand());
program.addCommand(docsCommand());

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof InfraError || e instanceof ConfigError) {
    process.stderr.write(`towerflow: ${e.message}\n`);
    process.exit(1);
  }
  if (
    e instanceof Error &&
    [
      'IngestError',
      'KeyError',
      'GateRefusedError',
      'TrainingDivergedError',
      'LockBusyError',
      'HBaseError',
      'MilvusError',
    ].includes(e.name)
  ) {
    process.stderr.write(`towerflow: ${e.message}\n`);
    process.exit(1);
  }
  if (e instanceof DatasetError) {
    // bad input: the message names the file, line and field
    process.stderr.write(`towerflow: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
