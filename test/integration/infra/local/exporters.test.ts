import { randomBytes } from 'node:crypto';
import { logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../../clients/kafka/kafkajs.js';
import { createMilvus } from '../../../../clients/milvus/connection.js';
import { loadConfig } from '../../../../config/index.js';
import { type InfraJob, infraScrapeJobs } from '../../../../infra/local/exporters.js';

// The local Prometheus (started by the global setup with the services and their exporters)
// scrapes every infrastructure exporter as its stable job; each has up == 1 and the series that
// the dashboards use.
const cfg = loadConfig();
const jobs = infraScrapeJobs(cfg);

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(q: string): Promise<Series[]> {
  const url = `${cfg.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`;
  const body = (await (await fetch(url)).json()) as {
    status: string;
    error?: string;
    data: { result: Series[] };
  };
  if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
  return body.data.result;
}

/** Polls until the query has at least one series (Prometheus scrapes every 5–15 s). */
async function eventually(q: string, timeoutMs = 60_000): Promise<Series[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await query(q);
    if (r.length > 0 || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

// one metric per job that is there on an idle stack, plus a few the dashboards use
const NAMED: Record<InfraJob, string[]> = {
  kafka: [
    'kafka_server_replicamanager_underreplicatedpartitions',
    'kafka_controller_kafkacontroller_activecontrollercount',
    'kafka_controller_kafkacontroller_offlinepartitionscount',
    'kafka_network_requestmetrics_totaltimems{request="Metadata",quantile="0.99"}',
  ],
  hbase: [
    'server_total_request_count',
    'region_server_queue_size',
    'server_mem_store_size',
    'server_compaction_queue_length',
  ],
  redis: [
    'redis_connected_clients',
    'redis_memory_used_bytes',
    'redis_evicted_keys_total',
    'redis_commands_processed_total',
  ],
  milvus: ['milvus_proxy_req_count{function_name="ShowCollections"}', 'milvus_rootcoord_collection_num'],
};

describe('infrastructure exporters scraped by the local Prometheus', () => {
  const id = `t${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const topic = `${id}.behaviour.events`;
  const kafka = createKafka({ ...cfg, kafkaClientId: id }, { logLevel: logLevel.NOTHING });
  const admin = kafka.admin();

  beforeAll(async () => {
    // traffic of a stack of our own: a topic with our prefix, and a Milvus call
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'exporters test' }] });
    await producer.disconnect();
    if (jobs.some((j) => j.job === 'milvus')) {
      const milvus = createMilvus(cfg, 10_000);
      await milvus.showCollections();
      await milvus.closeConnection();
    }
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it('has a job for every local service with an exporter', () => {
    const expected: InfraJob[] = ['kafka', 'hbase', 'redis', 'milvus'].filter(
      (j) => cfg.localServices.includes(j) && (j !== 'milvus' || cfg.milvusEngine === 'standalone'),
    ) as InfraJob[];
    expect(jobs.map((j) => j.job)).toEqual(expected);
  });

  for (const job of ['kafka', 'hbase', 'redis', 'milvus'] as InfraJob[]) {
    it.runIf(jobs.some((j) => j.job === job))(
      `job ${job}: up == 1 and its named metrics have series`,
      async () => {
        const up = await eventually(`up{job="${job}"}`);
        // exactly the job's targets
        expect(
          up.map((s) => s.metric.instance).sort(),
          `targets of job ${job}: was the local Prometheus started before this change? (towerflow infra down prometheus && towerflow infra up prometheus)`,
        ).toEqual(
          (jobs.find((j) => j.job === job)?.targets ?? []).map((t) => `${cfg.bindHost}:${t.port}`).sort(),
        );
        const end = Date.now() + 60_000;
        let values = up.map((s) => s.value[1]);
        while (values.some((v) => v !== '1') && Date.now() < end) {
          await new Promise((res) => setTimeout(res, 1000));
          values = (await query(`up{job="${job}"}`)).map((s) => s.value[1]);
        }
        expect(values, `up{job="${job}"}`).toEqual(up.map(() => '1'));
        for (const name of NAMED[job]) {
          const sel = name.includes('{') ? name.replace('{', `{job="${job}",`) : `${name}{job="${job}"}`;
          expect((await eventually(sel)).length, sel).toBeGreaterThan(0);
        }
      },
    );
  }

  it.runIf(jobs.some((j) => j.job === 'kafka'))(
    'a stack’s own topic is told apart by its stack label (bytes in per topic)',
    async () => {
      const series = await eventually(
        `kafka_server_brokertopicmetrics_bytesin_total{job="kafka",stack="${id}"}`,
      );
      expect(series.map((s) => s.metric.topic)).toEqual([topic]);
      expect(Number(series[0]?.value[1])).toBeGreaterThan(0);
    },
  );
});
