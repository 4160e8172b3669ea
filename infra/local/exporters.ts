import { TOPIC_BASE_NAMES } from '../../clients/kafka/topics.js';
import type { Config } from '../../config/index.js';

/**
 * Where the local services' own metrics are served on loopback, and the stable Prometheus job
 * names that dashboards and alerts select on. One place, read by the services that open these
 * ports, by the local Prometheus configuration and by `towerflow infra status`.
 */
export const EXPORTER_PORTS = {
  /** JMX exporter java agent inside the Kafka broker's JVM (9404, Strimzi's usual port, is a stream processor's here). */
  kafka: 7071,
  /** HBase region server info server (/prometheus, /jmx); in the standalone JVM it serves the master's metrics too. */
  hbase: 16030,
  /** Debian's prometheus-redis-exporter (its default port). */
  redis: 9121,
  /** Milvus standalone's metrics port, bridged out of its network namespace. */
  milvus: 9091,
} as const;

/** Version of `io.prometheus.jmx:jmx_prometheus_javaagent` (the newest on Maven Central; later releases are not published there). */
export const JMX_EXPORTER_VERSION = '1.0.1';

export type InfraJob = 'kafka' | 'hbase' | 'redis' | 'milvus';

export interface InfraScrapeJob {
  job: InfraJob;
  /** The local service whose process serves the endpoint (the agent lives in Kafka's JVM, etc.). */
  service: string;
  metricsPath: string;
  /** Overrides the global scrape interval (HBase's payload is ~1 MB; every 15 s is plenty). */
  scrapeInterval?: string;
  targets: { port: number; labels: Record<string, string> }[];
}

/**
 * The infrastructure scrape jobs of the local stack: one per locally started service that has
 * metrics. milvus-lite serves none (no HTTP port at all), so `MILVUS_ENGINE=lite` has no milvus job.
 */
export function infraScrapeJobs(cfg: Pick<Config, 'localServices' | 'milvusEngine'>): InfraScrapeJob[] {
  const local = new Set(cfg.localServices);
  const jobs: InfraScrapeJob[] = [];
  if (local.has('kafka'))
    jobs.push({
      job: 'kafka',
      service: 'kafka',
      metricsPath: '/metrics',
      targets: [{ port: EXPORTER_PORTS.kafka, labels: { component: 'broker' } }],
    });
  if (local.has('hbase'))
    jobs.push({
      job: 'hbase',
      service: 'hbase',
      metricsPath: '/prometheus',
      scrapeInterval: '15s',
      // master and region server share one JVM and one metrics registry: one target has both
      targets: [{ port: EXPORTER_PORTS.hbase, labels: { component: 'standalone' } }],
    });
  if (local.has('redis'))
    jobs.push({
      job: 'redis',
      service: 'redis-exporter',
      metricsPath: '/metrics',
      targets: [{ port: EXPORTER_PORTS.redis, labels: { component: 'redis' } }],
    });
  if (local.has('milvus') && cfg.milvusEngine === 'standalone')
    jobs.push({
      job: 'milvus',
      service: 'milvus',
      metricsPath: '/metrics',
      targets: [{ port: EXPORTER_PORTS.milvus, labels: { component: 'standalone' } }],
    });
  return jobs;
}

/**
 * HBase's /prometheus servlet writes table and region names into metric names
 * (`tables_namespace_NS_table_T_metric_read_request_count`). Per-region metrics (a region's
 * hash in the name: unbounded) are dropped; per-table ones become one name with `namespace` and
 * `table` labels (`tables_read_request_count{namespace="towerflow",table="history"}`), so that a
 * test's own HBase namespace is a label. Names are kept when a table name holds an underscore.
 * infra/prometheus/prometheus.yml carries the same rules (a unit test compares them).
 */
export const HBASE_METRIC_RELABEL: readonly Relabel[] = [
  { source_labels: ['__name__'], regex: 'regions_namespace_.*', action: 'drop' },
  ...(['namespace', 'table', '__name__'] as const).map((target) => ({
    source_labels: ['__name__'],
    regex: '(tables|table_requests)_namespace_([^_]+)_table_([^_]+)_(?:metric_)?(.+)',
    target_label: target,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Prometheus' own ${1} syntax, not a template
    replacement: target === 'namespace' ? '$2' : target === 'table' ? '$3' : '${1}_${4}',
  })),
];

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type StackCfg = Pick<Config, 'kafkaClientId' | 'topicPrefix' | 'hbaseNamespace'>;

/**
 * Local only: a `stack` label (the KAFKA_CLIENT_ID every towerflow process announces) on the
 * infrastructure series that belong to one stack, where a name tells it: Kafka's per-topic
 * series by topic, HBase's per-table series by namespace. The shared services serve every test
 * stack at once; a test stack's topics are `<id>.<base>` and its HBase namespace is `<id>`
 * (infra/local/isolated-stack.ts), the default stack's are this configuration's. Redis (by db
 * number) and Milvus (by collection id) have no such name.
 */
export function stackRelabel(job: InfraJob, cfg: StackCfg): Relabel[] {
  const bases = Object.values(TOPIC_BASE_NAMES).map(reEscape).join('|');
  if (job === 'kafka')
    return [
      { source_labels: ['topic'], regex: `([^.]+)\\.(?:${bases})`, target_label: 'stack', replacement: '$1' },
      {
        source_labels: ['topic'],
        regex: `${reEscape(cfg.topicPrefix)}(?:${bases})`,
        target_label: 'stack',
        replacement: cfg.kafkaClientId,
      },
    ];
  if (job === 'hbase')
    return [
      { source_labels: ['namespace'], regex: '(.+)', target_label: 'stack', replacement: '$1' },
      {
        source_labels: ['namespace'],
        regex: reEscape(cfg.hbaseNamespace),
        target_label: 'stack',
        replacement: cfg.kafkaClientId,
      },
      // HBase's own tables (meta, namespace) belong to no stack
      { source_labels: ['namespace'], regex: 'hbase', target_label: 'stack', replacement: '' },
    ];
  return [];
}

type Relabel =
  | { source_labels: readonly string[]; regex: string; action: 'drop' }
  | { source_labels: readonly string[]; regex: string; target_label: string; replacement: string };

function relabelYaml(rules: readonly Relabel[]): string[] {
  const lines: string[] = [];
  for (const r of rules) {
    lines.push(`      - source_labels: [${r.source_labels.join(', ')}]`);
    lines.push(`        regex: ${q(r.regex)}`);
    if ('action' in r) lines.push(`        action: ${r.action}`);
    else lines.push(`        target_label: ${r.target_label}`, `        replacement: ${q(r.replacement)}`);
  }
  return lines;
}

/** The `scrape_configs` entries of the infrastructure jobs, as YAML list items (2-space indent). */
export function infraScrapeConfigsYaml(
  cfg: Pick<Config, 'localServices' | 'milvusEngine' | 'bindHost'> & StackCfg,
): string {
  return infraScrapeJobs(cfg)
    .map((j) => {
      const lines = [`  - job_name: ${j.job}`];
      if (j.scrapeInterval) lines.push(`    scrape_interval: ${j.scrapeInterval}`);
      if (j.metricsPath !== '/metrics') lines.push(`    metrics_path: ${j.metricsPath}`);
      lines.push('    static_configs:');
      for (const t of j.targets) {
        lines.push(`      - targets: ['${cfg.bindHost}:${t.port}']`);
        const labels = Object.entries(t.labels).map(([k, v]) => `${k}: ${q(v)}`);
        if (labels.length > 0) lines.push(`        labels: { ${labels.join(', ')} }`);
      }
      const relabel = [...(j.job === 'hbase' ? HBASE_METRIC_RELABEL : []), ...stackRelabel(j.job, cfg)];
      if (relabel.length > 0) lines.push('    metric_relabel_configs:', ...relabelYaml(relabel));
      return `${lines.join('\n')}\n`;
    })
    .join('');
}
