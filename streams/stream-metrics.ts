import { Counter, Gauge, Histogram } from 'prom-client';
import { createRegistry } from '../runtime/metrics.js';
import { DLQ_KINDS } from './decode.js';
import type { ProcessorName } from './runtime.js';
import { VISIBLE_BUCKETS } from './visibility.js';

export type StreamMetrics = ReturnType<typeof streamMetrics>;

/** A stream process's registry and series (towerflow_stream_*). */
export function streamMetrics(name: ProcessorName) {
  const registry = createRegistry(`stream-${name}`);
  const labels = ['processor', 'topic'] as const;
  return {
    registry,
    consumed: new Counter({
      name: 'towerflow_stream_consumed_total',
      help: 'Records consumed',
      labelNames: labels,
      registers: [registry],
    }),
    written: new Counter({
      name: 'towerflow_stream_written_total',
      help: 'Records written to the stores',
      labelNames: labels,
      registers: [registry],
    }),
    dlq: new Counter({
      name: 'towerflow_stream_dlq_total',
      help: 'Records sent to the dead-letter topic, by reason (no_contract, empty, not_json, invalid)',
      labelNames: [...labels, 'reason'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'towerflow_stream_errors_total',
      help: 'Failed store writes (retried) and other errors',
      labelNames: ['processor', 'kind'],
      registers: [registry],
    }),
    writeSeconds: new Histogram({
      name: 'towerflow_stream_batch_write_seconds',
      help: 'Store write time per partition batch',
      labelNames: ['processor'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'towerflow_stream_batch_records',
      help: 'Records per partition batch',
      labelNames: ['processor'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    visible: new Histogram({
      name: 'towerflow_stream_visible_seconds',
      help: 'Per record: from its Kafka timestamp (sent by the ingest API) to its batch written (freshness SLI)',
      labelNames: ['processor'],
      buckets: VISIBLE_BUCKETS,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'towerflow_stream_consumer_lag',
      help: 'Records not yet committed by the group, per partition',
      labelNames: ['processor', 'topic', 'partition'],
      registers: [registry],
    }),
  };
}

/** Series exist from the start (at 0), so dashboards and alerts see "none" rather than "no data". */
export function zeroSeries(m: StreamMetrics, name: ProcessorName, topics: Iterable<string>): void {
  m.errors.inc({ processor: name, kind: 'write' }, 0);
  for (const topic of topics) {
    for (const reason of DLQ_KINDS) m.dlq.inc({ processor: name, topic, reason }, 0);
    m.consumed.inc({ processor: name, topic }, 0);
    m.written.inc({ processor: name, topic }, 0);
  }
}
