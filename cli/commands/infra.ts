import { Command } from 'commander';
import { down, exporterStatus, makeContext, status, up } from '../../infra/local/stack.js';
import { ExitCode } from '../../runtime/exit-codes.js';
import { formatTable } from '../output/table.js';

function mib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export function infraCommand(): Command {
  const infra = new Command('infra').description(
    'provision, start, stop and inspect the local real services',
  );

  infra
    .command('up')
    .description('download (first time) and start the local services on loopback, each health-checked')
    .argument('[services...]', 'subset to start (default: TOWERFLOW_LOCAL_SERVICES)')
    .action(async (services: string[]) => {
      const t0 = Date.now();
      const ctx = makeContext();
      await up(ctx, services);
      ctx.say(`infra up: all healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

  infra
    .command('down')
    .description('stop, by pid, exactly what `infra up` started')
    .argument('[services...]', 'subset to stop (default: all with a pid file)')
    .action(async (services: string[]) => {
      await down(makeContext(), services);
    });

  infra
    .command('status')
    .description(
      'report each local service (up, pid, ports, version, memory) and the metrics endpoints the local Prometheus scrapes',
    )
    .option('--json', 'one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const ctx = makeContext();
      const [rows, exporters] = await Promise.all([status(ctx), exporterStatus(ctx)]);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ services: rows, exporters }, null, 2)}\n`);
      } else {
        process.stdout.write(
          formatTable(
            rows.map((r) => ({
              service: r.name,
              up: r.up ? 'up' : 'down',
              pid: r.pid,
              ports: r.ports.join(','),
              version: r.version,
              memory: mib(r.rssBytes),
            })),
            { right: ['memory'] },
          ),
        );
        const total = rows.reduce((s, r) => s + (r.rssBytes ?? 0), 0);
        process.stdout.write(`total resident memory: ${mib(total)}\n`);
        if (exporters.length > 0) {
          process.stdout.write('metrics scraped by the local Prometheus (jobs):\n');
          process.stdout.write(
            formatTable(
              exporters.map((e) => ({
                job: e.job,
                up: e.up ? 'up' : 'down',
                pid: e.pid,
                port: e.port,
                'served by': e.service,
                url: e.url,
              })),
            ),
          );
        }
      }
      if (rows.some((r) => !r.up) || exporters.some((e) => !e.up)) process.exitCode = ExitCode.UNAVAILABLE;
    });

  return infra;
}
