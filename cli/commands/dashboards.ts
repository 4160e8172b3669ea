import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { ExitCode } from '../../runtime/exit-codes.js';
import { positiveInt } from '../options.js';

/** `towerflow dashboards generate|verify|render`: the Grafana dashboards as code, checked and drawn. */
export function dashboardsCommand(): Command {
  const cmd = new Command('dashboards').description(
    'the Grafana dashboards (infra/grafana): generate, verify against Prometheus, render',
  );
  cmd
    .command('generate')
    .description('write the dashboards’ JSON into infra/grafana/dashboards/ from infra/grafana/src/')
    .action(async () => {
      const { writeDashboards } = await import('../../infra/grafana/src/generate.js');
      const cfg = loadConfig();
      const files = writeDashboards(path.join(cfg.root, 'infra', 'grafana', 'dashboards'));
      process.stdout.write(`wrote ${files.join(', ')}\n`);
    });
  cmd
    .command('verify')
    .description(
      'send every panel’s query (variables substituted) to Prometheus over the last --since seconds and check every metric name of the dashboards and the alert rules; exit 6 if a query errs, a panel that should have data has none, or a metric is unknown',
    )
    .option(
      '--stack <regex>',
      'value of the $stack variable: only these stacks’ processes (KAFKA_CLIENT_ID)',
      '.*',
    )
    .option('--since <seconds>', 'how far back to look for data', positiveInt('--since'), 3600)
    .option('--json', 'print the report as one JSON object')
    .action(async (o: { stack: string; since: number; json?: boolean }) => {
      const { verifyDashboards, projectRuleFiles } = await import('../../infra/grafana/src/verify.js');
      const cfg = loadConfig();
      const r = await verifyDashboards({
        prometheusUrl: cfg.prometheusUrl,
        stack: o.stack,
        sinceSeconds: o.since,
        ruleFiles: projectRuleFiles(cfg.root),
      });
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        const lines = [
          `${r.dashboards} dashboards, ${r.panels} panels, ${r.queries} queries against ${cfg.prometheusUrl} (stack ${o.stack}, last ${o.since} s)`,
          ...r.errors.map((e) => `  error  ${e.dashboard} / ${e.panel}: ${e.error}\n         ${e.expr}`),
          ...r.empty.map((e) => `  empty  ${e.dashboard} / ${e.panel}\n         ${e.expr}`),
          ...r.emptyWhenHealthy.map((e) => `  empty (expected while healthy)  ${e.dashboard} / ${e.panel}`),
          ...r.missingMetrics.map((m) => `  unknown metric  ${m}`),
          r.ok ? 'ok: every query returned data' : 'FAILED',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (!r.ok) process.exitCode = ExitCode.CHECK_FAILED;
    });
  cmd
    .command('render')
    .description('draw each dashboard as a PNG from Prometheus query_range (for people without a Grafana)')
    .option('--out <dir>', 'output folder (default: $TOWERFLOW_HOME/dashboards)')
    .option('--stack <regex>', 'value of the $stack variable', '.*')
    .option('--since <seconds>', 'time range drawn', positiveInt('--since'), 3600)
    .action(async (o: { out?: string; stack: string; since: number }) => {
      const { renderDashboards } = await import('../../infra/grafana/src/render.js');
      const cfg = loadConfig();
      const files = await renderDashboards({
        prometheusUrl: cfg.prometheusUrl,
        outDir: o.out ?? path.join(cfg.homeDir, 'dashboards'),
        stack: o.stack,
        sinceSeconds: o.since,
      });
      process.stdout.write(`${files.map((f) => path.relative(process.cwd(), f)).join('\n')}\n`);
    });
  return cmd;
}
