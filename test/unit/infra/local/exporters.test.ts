import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../../../config/index.js';
import {
  EXPORTER_PORTS,
  HBASE_METRIC_RELABEL,
  infraScrapeConfigsYaml,
  infraScrapeJobs,
} from '../../../../infra/local/exporters.js';
import type { LocalPaths } from '../../../../infra/local/paths.js';
import { localPrometheusConfig } from '../../../../infra/local/services/prometheus.js';

const root = projectRoot();
const paths: LocalPaths = {
  home: '/h',
  cache: '/h/cache',
  data: '/h/data',
  logs: '/h/logs',
  run: '/h/run',
  targets: '/h/run/targets',
};
const ctxOf = (env: NodeJS.ProcessEnv = {}) => ({ cfg: loadConfig(env), paths, say: () => {} });
const jobNames = (yaml: string) => [...yaml.matchAll(/^ {2}- job_name: (\S+)$/gm)].map((m) => m[1]);

describe('infrastructure scrape jobs', () => {
  it('the local Prometheus scrapes kafka, hbase, redis and milvus at their loopback ports', () => {
    const yaml = localPrometheusConfig(ctxOf());
    expect(jobNames(yaml)).toEqual(
      expect.arrayContaining(['prometheus', 'towerflow', 'kafka', 'hbase', 'redis', 'milvus']),
    );
    expect(yaml).toContain(`- targets: ['127.0.0.1:${EXPORTER_PORTS.kafka}']`);
    expect(yaml).toContain(`- targets: ['127.0.0.1:${EXPORTER_PORTS.hbase}']`);
    expect(yaml).toContain(`- targets: ['127.0.0.1:${EXPORTER_PORTS.redis}']`);
    expect(yaml).toContain(`- targets: ['127.0.0.1:${EXPORTER_PORTS.milvus}']`);
    expect(yaml).toMatch(/job_name: hbase\n(?: {4}.*\n)*? {4}metrics_path: \/prometheus\n/);
  });

  it('scrapes only the services started locally, and milvus-lite (no metrics endpoint) not at all', () => {
    const onlyRedis = infraScrapeJobs(loadConfig({ TOWERFLOW_LOCAL_SERVICES: 'redis,prometheus' }));
    expect(onlyRedis.map((j) => [j.job, j.service])).toEqual([['redis', 'redis-exporter']]);
    const lite = infraScrapeJobs(loadConfig({ MILVUS_ENGINE: 'lite' })).map((j) => j.job);
    expect(lite).toEqual(['kafka', 'hbase', 'redis']);
    expect(jobNames(infraScrapeConfigsYaml(loadConfig({ TOWERFLOW_LOCAL_SERVICES: 'none' })))).toEqual([]);
  });

  it('labels a stack’s own Kafka topics and HBase namespace with its stack (KAFKA_CLIENT_ID)', () => {
    const yaml = infraScrapeConfigsYaml(loadConfig({ KAFKA_CLIENT_ID: 'dev', HBASE_NAMESPACE: 'devns' }));
    const kafka = yaml.slice(yaml.indexOf('job_name: kafka'), yaml.indexOf('job_name: hbase'));
    expect(kafka).toContain(
      "regex: '([^.]+)\\.(?:behaviour\\.events|behaviour\\.dlq|item\\.events|user\\.events|recall\\.exposures)'",
    );
    expect(kafka).toContain("replacement: 'dev'");
    const hbase = yaml.slice(yaml.indexOf('job_name: hbase'), yaml.indexOf('job_name: redis'));
    expect(hbase).toMatch(/regex: 'devns'\n\s+target_label: stack\n\s+replacement: 'dev'/);
  });

  it('the relabelling turns HBase per-table metric names into labels and drops per-region ones', () => {
    const [drop, ns, table, name] = HBASE_METRIC_RELABEL;
    const full = (re: string) => new RegExp(`^(?:${re})$`);
    expect(full(drop?.regex ?? '').test('regions_namespace_x_table_t_region_abc_metric_store_count')).toBe(
      true,
    );
    const metric = 'tables_namespace_t1abc_table_history_metric_read_request_count';
    // Prometheus' replacement syntax ${1} is JavaScript's $1
    const apply = (r: typeof ns) =>
      r && 'replacement' in r
        ? metric.replace(full(r.regex), r.replacement.replace(/\$\{(\d)\}/g, '$$$1'))
        : '';
    expect([apply(ns), apply(table), apply(name)]).toEqual(['t1abc', 'history', 'tables_read_request_count']);
  });

  it('the production scrape config has the same jobs and the same HBase relabelling', () => {
    const prod = readFileSync(path.join(root, 'infra/prometheus/prometheus.yml'), 'utf8');
    expect(jobNames(prod)).toEqual(
      expect.arrayContaining(['towerflow', 'kafka', 'hbase', 'redis', 'milvus']),
    );
    for (const r of HBASE_METRIC_RELABEL) expect(prod).toContain(`regex: "${r.regex}"`);
    expect(prod).toContain('metrics_path: /prometheus');
  });

  it('the committed Kafka JMX rules export bytes in/out, request latency, under-replicated partitions and controller basics', () => {
    const rules = readFileSync(path.join(root, 'infra/local/conf/kafka-jmx.yml'), 'utf8');
    for (const needle of [
      'name=(\\w+)PerSec, topic=(.+)',
      'name=(TotalTimeMs), request=(\\w+)><>99thPercentile',
      'quantile: "0.99"',
      'kafka.server<type=ReplicaManager, name=(\\w+)><>Value',
      'kafka.controller<type=KafkaController, name=(\\w+)><>Value',
    ])
      expect(rules).toContain(needle);
  });

  it.runIf(existsSync('/usr/bin/promtool'))('promtool accepts the generated local configuration', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tf-prom-'));
    try {
      // the generated rule_files (if any) point into the checkout; check the scrape part on its own
      const yaml = localPrometheusConfig(ctxOf()).replace(/^rule_files:\n(?: {2}- .*\n)*/m, '');
      writeFileSync(path.join(dir, 'prometheus.yml'), yaml);
      execFileSync('/usr/bin/promtool', [
        'check',
        'config',
        '--syntax-only',
        path.join(dir, 'prometheus.yml'),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
