import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/index.js';
import { positiveInt, positiveNumber } from '../options.js';
import { formatTable } from '../output/table.js';
import { requireIngestApi } from '../preflight.js';

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('serve the ingest API (POST /v1/events, /v1/items, /v1/users) until SIGTERM')
    .action(async () => {
      const { runIngest } = await import('../../ingest/main.js');
      await runIngest(loadConfig());
    });
}

export function streamCommand(): Command {
  return new Command('stream')
    .description(
      'run one stream processor (a Kafka consumer group) until SIGTERM: history, sequence, items or embeddings',
    )
    .argument('<name>', 'history | sequence | items | embeddings')
    .action(async (name: string) => {
      const { PROCESSORS } = await import('../../streams/index.js');
      const { runStream } = await import('../../streams/runtime.js');
      const { createLogger } = await import('../../runtime/logger.js');
      const make = PROCESSORS[name];
      if (!make)
        throw new InvalidArgumentError(
          `unknown processor ${name}; one of ${Object.keys(PROCESSORS).join(', ')}`,
        );
      const cfg = loadConfig();
      const log = createLogger(cfg, `stream-${name}`);
      await runStream(cfg, make(cfg, log), log);
    });
}

export function appsCommand(): Command {
  const apps = new Command('apps').description("start, stop and inspect the project's own processes locally");
  const say = (m: string) => process.stderr.write(`${m}\n`);
  apps
    .command('up')
    .description(
      'start the ingest API, stream processors and recall API as daemons (pid and log under TOWERFLOW_HOME); an instance that died is started again',
    )
    .argument('[names...]', 'subset: ingest, history, sequence, items, embeddings, serve')
    .option(
      '--instances <n>',
      'run at least N instances of each named app (instance i on its port + i × APPS_INSTANCE_PORT_STEP)',
      positiveInt('--instances'),
    )
    .action(async (names: string[], o: { instances?: number }) => {
      const { appsUp } = await import('../../infra/local/apps.js');
      await appsUp(loadConfig(), names, { say, instances: o.instances });
    });
  apps
    .command('scale')
    .description(
      'run exactly N instances of one app: stops the ones above N (SIGTERM: they drain, commit and leave their group), starts the missing ones',
    )
    .argument('<name>', 'ingest, history, sequence, items, embeddings or serve')
    .argument('<n>', 'instances (a stream processor: at most its topics’ partitions)', positiveInt('<n>'))
    .action(async (name: string, n: number) => {
      const { appsScale } = await import('../../infra/local/apps.js');
      await appsScale(loadConfig(), name, n, { say });
    });
  apps
    .command('down')
    .description('stop every instance by pid (SIGTERM: each drains and commits)')
    .argument('[names...]')
    .action(async (names: string[]) => {
      const { appsDown } = await import('../../infra/local/apps.js');
      await appsDown(loadConfig(), names, say);
    });
  apps
    .command('status')
    .description('every instance of every app: up (answers /readyz), pid, URL')
    .option('--json', 'one JSON array on stdout')
    .action(async (o: { json?: boolean }) => {
      const { appsStatus } = await import('../../infra/local/apps.js');
      const st = await appsStatus(loadConfig());
      if (o.json) process.stdout.write(`${JSON.stringify(st)}\n`);
      else
        process.stdout.write(
          formatTable(st.map((s) => ({ process: s.name, up: s.up ? 'up' : 'down', pid: s.pid, url: s.url }))),
        );
    });
  return apps;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description("post a dataset's items, users and interactions (timestamp order) through the ingest API")
    .requiredOption('--dataset <dir>', 'dataset folder (DESIGN.md §5 or MovieLens layout)')
    .option('--rate <n>', 'cap on events per second', positiveNumber('--rate'))
    .option('--speedup <x>', "replay at X times the dataset's own pace", positiveNumber('--speedup'))
    .option('--batch <n>', 'events per request', positiveInt('--batch'), 500)
    .option('--concurrency <n>', 'requests in flight', positiveInt('--concurrency'), 4)
    .option('--limit <n>', 'only the first N interactions', positiveInt('--limit'))
    .option('--url <url>', 'ingest API base URL (default: http://TOWERFLOW_BIND_HOST:INGEST_PORT)')
    .option('--api-key <key>', 'API key (default: first of INGEST_API_KEYS, else the generated key file)')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(
      async (o: {
        dataset: string;
        rate?: number;
        speedup?: number;
        batch: number;
        concurrency: number;
        limit?: number;
        url?: string;
        apiKey?: string;
        json?: boolean;
      }) => {
        const cfg = loadConfig();
        const { loadDataset } = await import('../../model/data/load.js');
        const { idOnlyNote } = await import('../../model/data/types.js');
        const { IngestClient } = await import('../../replay/client.js');
        const { replay } = await import('../../replay/run.js');
        const { clientKey } = await import('../../runtime/api-keys.js');
        const { SingleBar, Presets } = await import('cli-progress');
        const baseUrl = o.url ?? `http://${cfg.bindHost}:${cfg.ingestPort}`;
        await requireIngestApi(baseUrl);
        const ds = await loadDataset(o.dataset);
        for (const s of ds.skipped) process.stderr.write(`skipped ${s.count} rows: ${s.reason}\n`);
        if (ds.idOnly)
          process.stderr.write(`${idOnlyNote(ds.idOnly, 'posted like the others, with no item profile')}\n`);
        const client = new IngestClient({
          baseUrl,
          apiKey: o.apiKey ?? clientKey(cfg, 'ingest'),
        });
        const bar = new SingleBar(
          {
            format: 'replay |{bar}| {percentage}% {value}/{total} events | {rate} events/s',
            stream: process.stderr,
            hideCursor: true,
          },
          Presets.shades_classic,
        );
        const t0 = performance.now();
        bar.start(Math.min(ds.interactions.length, o.limit ?? Number.POSITIVE_INFINITY), 0, { rate: '-' });
        const r = await replay(ds, client, {
          batch: Math.min(o.batch, cfg.ingestMaxBatch),
          concurrency: o.concurrency,
          rate: o.rate,
          speedup: o.speedup,
          limit: o.limit,
          onProgress: (sent) =>
            bar.update(sent, {
              rate: Math.round(sent / ((performance.now() - t0) / 1000)).toLocaleString('en-US'),
            }),
        });
        bar.stop();
        if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else
          process.stderr.write(
            `replayed ${r.items} items, ${r.users} users, ${r.events} events${r.idOnly.events > 0 ? ` (${r.idOnly.events} of them on ${r.idOnly.items} ID-only items)` : ''} in ${r.seconds.toFixed(1)} s (${Math.round(r.eventsPerSecond).toLocaleString('en-US')} events/s)\n`,
          );
      },
    );
}

export function openapiCommand(): Command {
  return new Command('openapi')
    .description('print the OpenAPI document of an API (committed as docs/openapi/NAME.json)')
    .argument('[api]', 'ingest | recall', 'ingest')
    .action(async (api: string) => {
      let doc: object;
      if (api === 'ingest') doc = (await import('../../ingest/openapi.js')).ingestOpenApi();
      else if (api === 'recall') doc = (await import('../../serving/openapi.js')).recallOpenApi();
      else throw new InvalidArgumentError(`unknown API ${api}; one of ingest, recall`);
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    });
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the recall API (GET /v1/recall?user_id=U&k=K) until SIGTERM')
    .action(async () => {
      const { runServe } = await import('../../serving/main.js');
      await runServe(loadConfig());
    });
}
