import { Command } from 'commander';

/**
 * The main job: services and processes up; a dataset replayed through the ingest API (all but
 * each user's last interaction) into Kafka, HBase and Redis and checked; the daily job; recall
 * quality through GET /v1/recall as a client asks, next to the same version offline and
 * popularity; the held-out interactions posted (online hit rate); a freshness probe. With
 * --experiment, also yesterday's model against today's on simulated users (an A/B experiment and
 * its report).
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run the system end to end on local real services: ingest, stream processing, the daily job, recall quality through the API, online hit rate, freshness',
    )
    .option('--dataset <dir>', 'dataset to replay', 'datasets/ml-latest-small')
    .option(
      '--keep-data',
      'keep what earlier runs left in the stores (by default the demo starts from empty local stores)',
    )
    .option(
      '--experiment',
      'also compare yesterday’s model (the daily job’s, live) with today’s (built again with the held-out interactions, not published) in an A/B experiment at 50 %: each user’s last 3 interactions are kept back from every other step and posted by simulated users after their answer; prints the report and leaves the experiment running',
    )
    .option('--json', 'print the summary as one JSON object on stdout (progress stays on stderr)')
    .action(async (o: { dataset: string; keepData?: boolean; experiment?: boolean; json?: boolean }) => {
      // native clients load only when this command runs, so `infra down` never depends on them
      const { runDemo } = await import('../demo/run.js');
      const summary = await runDemo(o);
      process.stdout.write(o.json ? `${JSON.stringify(summary.json)}\n` : summary.text);
    });
}
