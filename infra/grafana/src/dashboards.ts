import { type DashboardSpec, type PanelSpec, TF, TF_ROLE } from './panels.js';

// The six dashboards of DESIGN.md §8, as data. Objectives (docs/slos.md): recall 99.9 % non-5xx
// and 99 % under 50 ms, ingest 99.9 % non-5xx, 99 % of events visible within 5 s, a publish
// in the last 26 h.

const rate = (metric: string, by: string, extra = '', window = '1m') =>
  `sum by (${by}) (rate(${metric}{${TF}${extra}}[${window}]))`;
const quantile = (q: number, metric: string, by: string, extra = '', window = '5m') =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket{${TF}${extra}}[${window}])))`;
/**
 * A quantile of a histogram less its retractions (observations withdrawn later, counted in a
 * second histogram with the same buckets); where no retraction series exists, the histogram alone.
 */
const netQuantile = (q: number, metric: string, retracted: string, by: string, window: string) => {
  const buckets = (m: string) => `sum by (le, ${by}) (rate(${m}_bucket{${TF}}[${window}]))`;
  return `histogram_quantile(${q}, (${buckets(metric)} - ${buckets(retracted)}) or ${buckets(metric)})`;
};
/** Error budget left over 30 days: 1 − (bad / all) / (1 − target); 1 = untouched, 0 = spent. */
const budgetLeft = (bad: string, all: string, target: number) =>
  `1 - ((${bad}) or vector(0)) / clamp_min(${all}, 1) / ${(1 - target).toFixed(4)}`;
/**
 * Consumer lag summed over partitions: every instance of a processor reports its whole group's
 * lag, so the most any instance reports for a partition counts once (as the recording rule does).
 */
const lagSum = (by = '') =>
  `sum${by ? ` by (${by})` : ''} (max by (stack, processor, topic, partition) (towerflow_stream_consumer_lag{${TF}}))`;
const increase30d = (metric: string, extra = '') => `sum(increase(${metric}{${TF}${extra}}[30d]))`;

/** A stat of the error budget left for one objective: red when spent, orange under a quarter. */
const budgetStat = (title: string, objective: string, bad: string, all: string, target: number): PanelSpec => ({
  kind: 'stat',
  title,
  description: `${objective} 100 % = untouched, 0 % = spent, below 0 = overspent.`,
  unit: 'percentunit',
  queries: [{ expr: budgetLeft(bad, all, target) }],
  base: 'red',
  thresholds: [
    [0.25, 'orange'],
    [0.5, 'green'],
  ],
});

const processes = (row: string): DashboardSpec['rows'][number] => ({
  title: row,
  panels: [
    {
      title: 'CPU by process',
      description: 'CPU time per second of each towerflow process (1 = one core).',
      unit: 'none',
      queries: [{ expr: `sum by (role) (rate(process_cpu_seconds_total{${TF_ROLE}}[1m]))`, legend: '{{role}}' }],
      width: 8,
    },
    {
      title: 'Heap used by process',
      description: 'V8 heap in use per process.',
      unit: 'bytes',
      queries: [{ expr: `sum by (role) (nodejs_heap_size_used_bytes{${TF_ROLE}})`, legend: '{{role}}' }],
      width: 8,
    },
    {
      title: 'Event-loop lag p99 by process',
      description: 'How late the event loop runs callbacks (p99 over prom-client’s sampling window); over 0.1 s delays every request of that process.',
      unit: 's',
      queries: [{ expr: `max by (role) (nodejs_eventloop_lag_p99_seconds{${TF_ROLE}})`, legend: '{{role}}' }],
      thresholds: [[0.1, 'red']],
      width: 8,
    },
  ],
});

export const OVERVIEW: DashboardSpec = {
  uid: 'towerflow-overview',
  title: 'towerflow: Overview (SLOs)',
  description: 'The page on the wall: traffic, latency, freshness, the live model and the error budget of each objective (docs/slos.md).',
  rows: [
    {
      title: 'Error budget left (30 days)',
      panels: [
        budgetStat(
          'Recall availability budget',
          'Objective: 99.9 % of GET /v1/recall answers are not 5xx.',
          increase30d('towerflow_recall_requests_total', ',status=~"5.."'),
          increase30d('towerflow_recall_requests_total'),
          0.999,
        ),
        budgetStat(
          'Recall latency budget',
          'Objective: 99 % of recall answers within 50 ms (the 0.05 s histogram bucket).',
          `${increase30d('towerflow_recall_seconds_count')} - ${increase30d('towerflow_recall_seconds_bucket', ',le="0.05"')}`,
          increase30d('towerflow_recall_seconds_count'),
          0.99,
        ),
        budgetStat(
          'Ingest availability budget',
          'Objective: 99.9 % of ingest requests are not 5xx (a 4xx is the producer’s).',
          increase30d('towerflow_ingest_requests_total', ',status=~"5.."'),
          increase30d('towerflow_ingest_requests_total'),
          0.999,
        ),
        budgetStat(
          'Freshness budget',
          'Objective: 99 % of events visible to recall (in the Redis sequence) within 5 s of Kafka accepting them.',
          `${increase30d('towerflow_stream_visible_seconds_count', ',processor="sequence"')} - ${increase30d('towerflow_stream_visible_seconds_bucket', ',processor="sequence",le="5"')}`,
          increase30d('towerflow_stream_visible_seconds_count', ',processor="sequence"'),
          0.99,
        ),
      ],
    },
    {
      title: 'Live model',
      panels: [
        {
          kind: 'stat',
          title: 'Live model age',
          description: 'Time since the live version was published. Objective: a publish in the last 26 h; the model-age alert fires at 48 h.',
          unit: 's',
          queries: [{ expr: `time() - max(towerflow_model_live_published_timestamp_seconds{${TF}})` }],
          thresholds: [
            [26 * 3600, 'orange'],
            [48 * 3600, 'red'],
          ],
        },
        {
          kind: 'stat',
          title: 'Live model version',
          description: 'The version the recall API serves (its towers, ID rows and collection).',
          unit: 'none',
          queries: [{ expr: `max by (version) (towerflow_model_live_info{${TF}})`, legend: '{{version}}' }],
        },
        {
          kind: 'stat',
          title: 'Online hit rate (1 h)',
          description: 'Share of behaviour events (last hour, else since the processes started) whose item was in the recall answer the user got in the 30 minutes before; compare with the offline HR@K.',
          unit: 'percentunit',
          queries: [
            {
              // the last hour; a counter younger than two scrapes has no increase yet: then since the processes started
              expr: `(sum(increase(towerflow_online_hits_total{${TF}}[1h])) / (sum(increase(towerflow_online_events_total{${TF}}[1h])) > 0)) or (sum(towerflow_online_hits_total{${TF}}) / sum(towerflow_online_events_total{${TF}}))`,
            },
          ],
        },
        {
          kind: 'stat',
          title: 'Consumer lag',
          description: 'Records the stream processors have not committed yet, all groups and partitions.',
          unit: 'none',
          queries: [{ expr: lagSum() }],
          thresholds: [[10_000, 'orange']],
        },
      ],
    },
    {
      title: 'Traffic and latency',
      panels: [
        {
          title: 'Events accepted and rejected per second',
          description: 'Behaviour, item and user events the ingest API accepted (Kafka acknowledged), and events it rejected as invalid.',
          unit: 'reqps',
          queries: [
            { expr: `sum(rate(towerflow_ingest_events_accepted_total{${TF}}[1m]))`, legend: 'accepted' },
            { expr: `sum(rate(towerflow_ingest_events_rejected_total{${TF}}[5m])) or vector(0)`, legend: 'rejected' },
          ],
        },
        {
          title: 'Event → visible latency',
          description: 'From Kafka accepting an event to its write completing, per processor (sequence = visible to recall). Objective: 99 % within 5 s.',
          unit: 's',
          queries: [
            { expr: quantile(0.5, 'towerflow_stream_visible_seconds', 'processor'), legend: 'p50 {{processor}}' },
            { expr: quantile(0.99, 'towerflow_stream_visible_seconds', 'processor'), legend: 'p99 {{processor}}' },
          ],
          thresholds: [[5, 'red']],
        },
        {
          title: 'Recall latency',
          description: 'GET /v1/recall p50 and p99 over 5 minutes. Objective: 99 % under 50 ms.',
          unit: 's',
          queries: [
            { expr: quantile(0.5, 'towerflow_recall_seconds', ''), legend: 'p50' },
            { expr: quantile(0.99, 'towerflow_recall_seconds', ''), legend: 'p99' },
          ],
          thresholds: [[0.05, 'red']],
        },
        {
          title: 'Recall errors and degraded answers',
          description: 'Share of recall requests answered 5xx, and of answers served around a failed dependency (degraded: popular items or HBase features).',
          unit: 'percentunit',
          queries: [
            {
              expr: `(sum(rate(towerflow_recall_requests_total{${TF},status=~"5.."}[5m])) or vector(0)) / clamp_min(sum(rate(towerflow_recall_requests_total{${TF}}[5m])), 1e-9)`,
              legend: '5xx',
            },
            {
              expr: `(sum(rate(towerflow_recall_degraded_total{${TF}}[5m])) or vector(0)) / clamp_min(sum(rate(towerflow_recall_requests_total{${TF}}[5m])), 1e-9)`,
              legend: 'degraded',
            },
          ],
          thresholds: [[0.001, 'red']],
        },
      ],
    },
  ],
};

export const INGEST_STREAMS: DashboardSpec = {
  uid: 'towerflow-ingest-streams',
  title: 'towerflow: Ingest and streams',
  description: 'The ingest API and the stream processors: requests, events, lag, batch writes, dead letters.',
  rows: [
    {
      title: 'Ingest API',
      panels: [
        {
          title: 'Requests per second by route and status',
          description: 'Ingest API requests; 4xx are producers’ bad input, 5xx/503 mean Kafka was unreachable or slow.',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_ingest_requests_total', 'route, status'), legend: '{{route}} {{status}}' }],
        },
        {
          title: 'Events accepted per second by topic',
          description: 'Events acknowledged by Kafka (idempotent producer, acks=all).',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_ingest_events_accepted_total', 'topic'), legend: '{{topic}}' }],
        },
        {
          title: 'Request latency (to Kafka ack)',
          description: 'p50 and p99 of an ingest request, from arrival to Kafka’s acknowledgement of all its events.',
          unit: 's',
          queries: [
            { expr: quantile(0.5, 'towerflow_ingest_request_seconds', 'route'), legend: 'p50 {{route}}' },
            { expr: quantile(0.99, 'towerflow_ingest_request_seconds', 'route'), legend: 'p99 {{route}}' },
          ],
        },
        {
          title: 'Events rejected (5 m) by reason',
          description: 'Invalid events refused with 4xx, by route and reason; none of a rejected batch is enqueued.',
          unit: 'none',
          queries: [
            {
              expr: `sum by (route, reason) (increase(towerflow_ingest_events_rejected_total{${TF}}[5m]))`,
              legend: '{{route}} {{reason}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Stream processors',
      panels: [
        {
          title: 'Consumed and written per second',
          description: 'Records consumed from Kafka and written to the stores, per processor.',
          unit: 'reqps',
          queries: [
            { expr: rate('towerflow_stream_consumed_total', 'processor'), legend: 'consumed {{processor}}' },
            { expr: rate('towerflow_stream_written_total', 'processor'), legend: 'written {{processor}}' },
          ],
        },
        {
          title: 'Consumer lag by processor',
          description: 'Records not yet committed by each processor’s consumer group (published by the processors every 2 s).',
          unit: 'none',
          queries: [{ expr: lagSum('processor'), legend: '{{processor}}' }],
        },
        {
          title: 'Consumer lag by partition',
          description: 'Lag per topic partition: one partition far behind the others points at a hot key or a stuck member.',
          unit: 'none',
          queries: [
            {
              expr: lagSum('processor, topic, partition'),
              legend: '{{processor}} {{topic}}/{{partition}}',
            },
          ],
        },
        {
          title: 'Batch write latency p99',
          description: 'Time to write one partition batch to the stores (HBase, Redis, Milvus), p99 over 5 minutes.',
          unit: 's',
          queries: [{ expr: quantile(0.99, 'towerflow_stream_batch_write_seconds', 'processor'), legend: '{{processor}}' }],
        },
        {
          title: 'Dead letters by reason (5 m)',
          description: 'Records that failed their contract and went to behaviour.dlq with the reason; the consumer goes on.',
          unit: 'none',
          queries: [
            {
              expr: `sum by (processor, reason) (increase(towerflow_stream_dlq_total{${TF}}[5m]))`,
              legend: '{{processor}} {{reason}}',
            },
          ],
        },
        {
          title: 'Store write errors (5 m)',
          description: 'Failed store writes (retried until they succeed: nothing is skipped) and other processor errors.',
          unit: 'none',
          queries: [
            {
              expr: `sum by (processor, kind) (increase(towerflow_stream_errors_total{${TF}}[5m])) or vector(0)`,
              legend: '{{processor}} {{kind}}',
            },
          ],
        },
      ],
    },
    processes('Processes'),
  ],
};

export const RECALL: DashboardSpec = {
  uid: 'towerflow-recall',
  title: 'towerflow: Recall API',
  description: 'GET /v1/recall: latency by stage, where answers come from, caches, Milvus batching, degraded answers, versions, online hit rate and experiments.',
  rows: [
    {
      title: 'Latency',
      panels: [
        {
          title: 'Latency by source',
          description: 'p99 of a recall answer by the path that served it (personal, profile, popular). Objective: 99 % under 50 ms.',
          unit: 's',
          queries: [{ expr: quantile(0.99, 'towerflow_recall_seconds', 'source'), legend: 'p99 {{source}}' }],
          thresholds: [[0.05, 'red']],
        },
        {
          title: 'Latency by stage',
          description: 'p99 of each stage of a request: features (Redis/HBase reads), user vector, Milvus search, popular fallback.',
          unit: 's',
          queries: [{ expr: quantile(0.99, 'towerflow_recall_stage_seconds', 'stage'), legend: 'p99 {{stage}}' }],
        },
      ],
    },
    {
      title: 'Answers',
      panels: [
        {
          title: 'Answers per second by source',
          description: 'personal (history), profile (profile only), popular (nothing usable, no published version, or Milvus unavailable).',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_recall_seconds_count', 'source'), legend: '{{source}}' }],
        },
        {
          title: 'Answers per second by model version',
          description: 'Which versions answer: two at once only for the moments of a publish.',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_recall_answers_total', 'model_version'), legend: '{{model_version}}' }],
        },
        {
          title: 'User-vector cache hit ratio',
          description: 'Share of requests whose user vector came from the Redis cache (dropped on new behaviour).',
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr: `sum(rate(towerflow_recall_vector_cache_total{${TF},result="hit"}[5m])) / clamp_min(sum(rate(towerflow_recall_vector_cache_total{${TF}}[5m])), 1e-9)`,
              legend: 'hit ratio',
            },
          ],
        },
        {
          title: 'Milvus search batch size',
          description: 'Query vectors per Milvus call (concurrent requests coalesced): mean and p99.',
          unit: 'none',
          queries: [
            {
              expr: `sum(rate(towerflow_recall_search_batch_size_sum{${TF}}[5m])) / clamp_min(sum(rate(towerflow_recall_search_batch_size_count{${TF}}[5m])), 1e-9)`,
              legend: 'mean',
            },
            { expr: quantile(0.99, 'towerflow_recall_search_batch_size', ''), legend: 'p99' },
          ],
        },
        {
          title: 'Degraded answers by cause',
          description: 'Dependency failures served around: milvus → popular items; redis → features from HBase; hbase → no profile.',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_recall_degraded_total', 'dependency', '', '5m'), legend: '{{dependency}}' }],
        },
        {
          title: 'Requests by status',
          description: 'Recall answers by HTTP status: 400 names a bad parameter; 5xx counts against the availability objective.',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_recall_requests_total', 'status'), legend: '{{status}}' }],
        },
      ],
    },
    {
      title: 'Online quality',
      panels: [
        {
          title: 'Online hit rate (1 h) by version and source',
          description: 'Share of behaviour events (last hour, else since the processes started) whose item was in the answer the user got in the 30 minutes before (ONLINE_WINDOW_SECONDS), and HR@50 from the hit ranks.',
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr: `(sum by (model_version, source) (increase(towerflow_online_hits_total{${TF}}[1h])) / (sum by (model_version, source) (increase(towerflow_online_events_total{${TF}}[1h])) > 0)) or (sum by (model_version, source) (towerflow_online_hits_total{${TF}}) / sum by (model_version, source) (towerflow_online_events_total{${TF}}))`,
              legend: '{{model_version}} {{source}}',
            },
            {
              expr: `(sum by (model_version) (increase(towerflow_online_hit_rank_bucket{${TF},le="50"}[1h])) / (sum by (model_version) (increase(towerflow_online_events_total{${TF}}[1h])) > 0)) or (sum by (model_version) (towerflow_online_hit_rank_bucket{${TF},le="50"}) / sum by (model_version) (towerflow_online_events_total{${TF}}))`,
              legend: '{{model_version}} HR@50',
            },
          ],
        },
        {
          title: 'Attributed events per second',
          description: 'Behaviour events that followed an answer within the window (the online hit rate’s denominator).',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_online_events_total', 'source'), legend: '{{source}}' }],
        },
      ],
    },
    {
      title: 'Experiments',
      panels: [
        {
          title: 'Online hit rate (1 h) by experiment arm',
          description: 'Per arm of an experiment (the experiments processor, docs/operations.md): share of attributed behaviour events whose item was among the arm’s exposed items in the window before (EXPERIMENT_WINDOW_SECONDS); last hour, else since the processor started. `towerflow experiment report` gives the lift with its interval.',
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr: `(sum by (experiment, arm) (increase(towerflow_experiment_hits_total{${TF}}[1h])) / (sum by (experiment, arm) (increase(towerflow_experiment_events_total{${TF}}[1h])) > 0)) or (sum by (experiment, arm) (towerflow_experiment_hits_total{${TF}}) / (sum by (experiment, arm) (towerflow_experiment_events_total{${TF}}) > 0))`,
              legend: '{{experiment}} {{arm}}',
            },
          ],
          emptyWhenHealthy: 'no experiment is running or no event was attributed yet (`towerflow experiment status`).',
        },
        {
          title: 'Attributed events and hits per second by arm',
          description: 'Behaviour events joined to an arm’s exposures (counted once per event, exactly once per partition), and those whose item was exposed.',
          unit: 'reqps',
          queries: [
            { expr: rate('towerflow_experiment_events_total', 'experiment, arm'), legend: 'events {{experiment}} {{arm}}' },
            { expr: rate('towerflow_experiment_hits_total', 'experiment, arm'), legend: 'hits {{experiment}} {{arm}}' },
          ],
          emptyWhenHealthy: 'no experiment is running.',
        },
        {
          title: 'Users newly exposed per hour by arm',
          description: 'Users exposed by each arm, each counted once per UTC day: the split the sample-ratio test checks (the report counts distinct users over the whole run).',
          unit: 'none',
          queries: [
            {
              expr: `sum by (experiment, arm) (increase(towerflow_experiment_exposed_users_total{${TF}}[1h]))`,
              legend: '{{experiment}} {{arm}}',
            },
          ],
          emptyWhenHealthy: 'no experiment is running.',
        },
        {
          title: 'Hit position by arm',
          description: 'Median and p90 position of the hit item in the arm’s exposure the user saw last before the event (1 = top of the answer); a hit moved by a later-read exposure counts at its new position only (observed less retracted).',
          unit: 'none',
          queries: [
            { expr: netQuantile(0.5, 'towerflow_experiment_hit_position', 'towerflow_experiment_hit_position_retracted', 'experiment, arm', '1h'), legend: 'p50 {{experiment}} {{arm}}' },
            { expr: netQuantile(0.9, 'towerflow_experiment_hit_position', 'towerflow_experiment_hit_position_retracted', 'experiment, arm', '1h'), legend: 'p90 {{experiment}} {{arm}}' },
          ],
          emptyWhenHealthy: 'no experiment is running or no hit yet.',
        },
        {
          title: 'Exposures kept, late and skipped per second',
          description: 'Exposures kept for the join by arm; late ones (read after events of their user in their window, and joined to those events then: many after a restart with a backlog, few in steady state); skipped ones (outside any experiment, or naming an experiment without a definition).',
          unit: 'reqps',
          queries: [
            { expr: rate('towerflow_experiment_exposures_total', 'experiment, arm'), legend: 'kept {{experiment}} {{arm}}' },
            { expr: rate('towerflow_experiment_late_exposures_total', 'experiment, arm'), legend: 'late {{experiment}} {{arm}}' },
            { expr: rate('towerflow_experiment_exposures_skipped_total', 'reason'), legend: 'skipped {{reason}}' },
          ],
        },
        {
          title: 'Recall latency by A/B arm (p50, p99)',
          description: 'Latency of the answers each arm of an A/B experiment served (its own towers, ID rows and collection); answers to the operator’s arm override are not counted.',
          unit: 's',
          queries: [
            { expr: quantile(0.5, 'towerflow_recall_arm_seconds', 'arm'), legend: 'p50 {{arm}}' },
            { expr: quantile(0.99, 'towerflow_recall_arm_seconds', 'arm'), legend: 'p99 {{arm}}' },
          ],
          emptyWhenHealthy: 'no A/B experiment is running.',
        },
        {
          title: 'Shadow candidate latency (p50, p99)',
          description: 'A shadow experiment’s candidate answers, computed after the live answer was sent and never returned: the time of its tower, ID-row read and Milvus search. Skipped (SHADOW_MAX_IN_FLIGHT) and failed ones are in towerflow_recall_shadow_total.',
          unit: 's',
          queries: [
            { expr: quantile(0.5, 'towerflow_recall_shadow_seconds', ''), legend: 'p50' },
            { expr: quantile(0.99, 'towerflow_recall_shadow_seconds', ''), legend: 'p99' },
          ],
          emptyWhenHealthy: 'no shadow experiment is running.',
        },
        {
          title: 'Shadow candidate overlap@K with the live answer',
          description: 'Share of the live answer’s top k the shadow candidate’s top k also holds (median and p10 over 5 minutes): how differently the candidate would have answered.',
          unit: 'percentunit',
          min: 0,
          queries: [
            { expr: quantile(0.5, 'towerflow_recall_shadow_overlap', ''), legend: 'median' },
            { expr: quantile(0.1, 'towerflow_recall_shadow_overlap', ''), legend: 'p10' },
          ],
          emptyWhenHealthy: 'no shadow experiment is running.',
        },
        {
          title: 'Exposures logged per second by outcome',
          description: 'Every answer the recall API returns, written to recall.exposures: sent (acknowledged), dropped (Kafka not ready or more than EXPOSURE_MAX_IN_FLIGHT behind: the answer never waits), failed (refused).',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_recall_exposures_total', 'outcome'), legend: '{{outcome}}' }],
        },
      ],
    },
    processes('Process'),
  ],
};

export const MODEL: DashboardSpec = {
  uid: 'towerflow-model',
  title: 'towerflow: Model and daily job',
  description: 'The daily full update: runs, steps, training, the gate against the live model, publishing to Milvus; the live model’s offline quality over time.',
  rows: [
    {
      title: 'Runs',
      panels: [
        {
          kind: 'stat',
          title: 'Since the last publish',
          description: 'Time since the daily job last published (the batch metrics of a one-off run go stale when it exits: values are carried over 30 days). Objective: a publish in the last 26 h.',
          unit: 's',
          queries: [{ expr: `time() - max(max_over_time(towerflow_batch_last_run_timestamp_seconds{${TF},result="published"}[30d]))` }],
          thresholds: [
            [26 * 3600, 'orange'],
            [48 * 3600, 'red'],
          ],
        },
        {
          kind: 'stat',
          title: 'Last run duration',
          description: 'Sum of the steps of the last run (read, train, gate, publish…).',
          unit: 's',
          queries: [{ expr: `sum(max by (step) (max_over_time(towerflow_batch_step_seconds{${TF}}[1d])))` }],
        },
        {
          kind: 'stat',
          title: 'Samples trained',
          description: 'Training samples of the last run.',
          unit: 'none',
          queries: [{ expr: `max(max_over_time(towerflow_batch_samples{${TF}}[1d]))` }],
        },
        {
          kind: 'stat',
          title: 'Runs failed or refused (7 d)',
          description: 'Runs that did not publish: refused by the gate or failed (the live version kept serving).',
          unit: 'none',
          queries: [
            {
              expr: `sum(increase(towerflow_batch_runs_total{${TF},result=~"failed|refused"}[7d])) or vector(0)`,
            },
          ],
          thresholds: [[1, 'red']],
        },
        {
          title: 'Runs by result',
          description: 'Runs of the daily job: published, refused (gate), failed.',
          unit: 'none',
          queries: [{ expr: `sum by (result) (max_over_time(towerflow_batch_runs_total{${TF}}[1d]))`, legend: '{{result}}' }],
        },
        {
          title: 'Step durations of the last run (carried 1 day)',
          description: 'Seconds per step: read window, train, train all, gate, item vectors, Milvus collection, switch, catch up, retire.',
          unit: 's',
          queries: [{ expr: `max by (step) (max_over_time(towerflow_batch_step_seconds{${TF}}[1d]))`, legend: '{{step}}' }],
        },
      ],
    },
    {
      title: 'Training and gate',
      panels: [
        {
          title: 'Training loss',
          description: 'Sampled-softmax loss of the latest training step, while a run trains.',
          unit: 'none',
          queries: [{ expr: `max(towerflow_batch_train_loss{${TF}})`, legend: 'loss' }],
        },
        {
          title: 'Training samples per second',
          description: 'Training speed of the latest step.',
          unit: 'none',
          queries: [{ expr: `max(towerflow_batch_train_samples_per_second{${TF}})`, legend: 'samples/s' }],
        },
        {
          title: 'Gate: HR@50 of the candidate, the live model and popularity',
          description: 'Held-out HR@50 of the last run: the candidate publishes unless it is below the live version by more than BATCH_GATE_TOLERANCE.',
          unit: 'percentunit',
          queries: [{ expr: `max by (model) (max_over_time(towerflow_batch_gate_hr50{${TF}}[1d]))`, legend: '{{model}}' }],
        },
        {
          title: 'Live model offline HR@50 over time',
          description: 'The HR@50 the daily job measured for the version that is live, next to popularity on the same slice.',
          unit: 'percentunit',
          queries: [{ expr: `max by (model) (towerflow_model_live_offline_hr50{${TF}})`, legend: '{{model}}' }],
        },
      ],
    },
    {
      title: 'Publishing',
      panels: [
        {
          title: 'Item vectors inserted per second',
          description: 'Milvus insert speed of the last publish (column-encoded requests).',
          unit: 'none',
          queries: [{ expr: `max(max_over_time(towerflow_batch_vectors_per_second{${TF}}[1d]))`, legend: 'vectors/s' }],
        },
        {
          title: 'Alias switch time',
          description: 'Moving the Milvus alias and the live pointer: what readers could notice of a publish.',
          unit: 's',
          queries: [{ expr: `max(max_over_time(towerflow_batch_alias_switch_seconds{${TF}}[1d]))`, legend: 'switch' }],
        },
        {
          title: 'Live version changes (publishes and rollbacks)',
          description: 'How often the live pointer moved in the last day (a publish or `towerflow batch rollback`).',
          unit: 'none',
          queries: [
            {
              expr: `changes(max(towerflow_model_live_published_timestamp_seconds{${TF}})[1d:1m])`,
              legend: 'changes',
            },
          ],
        },
      ],
    },
  ],
};

export const EMBEDDINGS: DashboardSpec = {
  uid: 'towerflow-embeddings',
  title: 'towerflow: Incremental embeddings',
  description: 'The seconds-fresh paths: user-ID rows moved by the embeddings processor, and items re-inferred by the item bypass.',
  rows: [
    {
      title: 'ID-embedding updater',
      panels: [
        {
          title: 'Events per second by outcome',
          description: 'Events the updater consumed: applied, skipped (replayed batch), no_version (before the first publish).',
          unit: 'reqps',
          queries: [{ expr: rate('towerflow_embeddings_events_total', 'outcome'), legend: '{{outcome}}' }],
        },
        {
          title: 'Users updated per second',
          description: 'Users whose ID row moved.',
          unit: 'reqps',
          queries: [{ expr: `sum(rate(towerflow_embeddings_users_updated_total{${TF}}[1m]))`, legend: 'users/s' }],
        },
        {
          title: 'Micro-batch time',
          description: 'p50 and p99 of one micro-batch (gradient steps for its users and the Redis write).',
          unit: 's',
          queries: [
            { expr: quantile(0.5, 'towerflow_embeddings_microbatch_seconds', ''), legend: 'p50' },
            { expr: quantile(0.99, 'towerflow_embeddings_microbatch_seconds', ''), legend: 'p99' },
          ],
        },
        {
          title: 'Step norms',
          description: 'How far one update moves a row: p99 of the step norms and the latest micro-batch’s. A jump means a bad batch or a learning rate too high.',
          unit: 'none',
          queries: [
            { expr: quantile(0.99, 'towerflow_embeddings_step_norm', ''), legend: 'p99' },
            { expr: `max(towerflow_embeddings_last_step_norm{${TF}})`, legend: 'last' },
          ],
        },
        {
          title: 'Freshness of ID rows',
          description: 'From Kafka accepting an event to the user’s new row in Redis (p50, p99).',
          unit: 's',
          queries: [
            {
              expr: quantile(0.5, 'towerflow_stream_visible_seconds', '', ',processor="embeddings"'),
              legend: 'p50',
            },
            {
              expr: quantile(0.99, 'towerflow_stream_visible_seconds', '', ',processor="embeddings"'),
              legend: 'p99',
            },
          ],
          thresholds: [[5, 'red']],
        },
      ],
    },
    {
      title: 'Items processor and item bypass',
      panels: [
        {
          title: 'Item and user events written per second',
          description: 'Profiles the items processor applied to HBase (and the Redis profile copies).',
          unit: 'reqps',
          queries: [
            { expr: rate('towerflow_stream_written_total', 'topic', ',processor="items"'), legend: '{{topic}}' },
          ],
        },
        {
          title: 'Item bypass by operation',
          description: 'Changed items re-inferred into the live collection (upsert), removed (delete), or already up to date (unchanged).',
          unit: 'none',
          queries: [{ expr: `sum by (op) (towerflow_item_bypass_total{${TF}})`, legend: '{{op}}' }],
        },
      ],
    },
  ],
};

export const INFRASTRUCTURE: DashboardSpec = {
  uid: 'towerflow-infrastructure',
  title: 'towerflow: Infrastructure',
  description: 'Kafka, HBase, Redis and Milvus from their own exporters, consumer-group lag, and every towerflow process’s CPU, heap and event loop.',
  rows: [
    {
      title: 'Consumer groups',
      panels: [
        {
          title: 'Consumer-group lag by processor and topic',
          description: 'Published by the towerflow processors themselves (Kafka’s own exporter does not see consumer groups).',
          unit: 'none',
          width: 24,
          queries: [
            { expr: lagSum('processor, topic'), legend: '{{processor}} {{topic}}' },
          ],
        },
      ],
    },
    {
      title: 'Kafka (JMX exporter)',
      panels: [
        {
          title: 'Broker bytes in and out per second',
          description: 'All topics: what producers wrote and consumers (and the DLQ) read.',
          unit: 'Bps',
          queries: [
            { expr: 'sum(rate(kafka_server_brokertopicmetrics_bytesin_total{job="kafka"}[1m]))', legend: 'in' },
            { expr: 'sum(rate(kafka_server_brokertopicmetrics_bytesout_total{job="kafka"}[1m]))', legend: 'out' },
          ],
          width: 8,
        },
        {
          title: 'Request latency p99 (Produce, Fetch)',
          description: 'Total time the broker spent on a request, p99 as the JMX exporter reports it.',
          unit: 'ms',
          queries: [
            {
              expr: 'max by (request) (kafka_network_requestmetrics_totaltimems{job="kafka",quantile="0.99",request=~"Produce|Fetch|FetchConsumer"})',
              legend: '{{request}}',
            },
          ],
          width: 8,
        },
        {
          title: 'Under-replicated and offline partitions',
          description: 'Partitions missing replicas (0 on one broker by construction) and partitions without a leader.',
          unit: 'none',
          queries: [
            { expr: 'sum(kafka_server_replicamanager_underreplicatedpartitions{job="kafka"})', legend: 'under-replicated' },
            { expr: 'sum(kafka_controller_kafkacontroller_offlinepartitionscount{job="kafka"})', legend: 'offline' },
          ],
          width: 8,
        },
      ],
    },
    {
      title: 'HBase (native /prometheus)',
      panels: [
        {
          title: 'Region server requests per second',
          description: 'Read and write requests the region server handled (the history and profile tables).',
          unit: 'reqps',
          queries: [
            { expr: 'sum(rate(server_read_request_count{job="hbase"}[1m]))', legend: 'read' },
            { expr: 'sum(rate(server_write_request_count{job="hbase"}[1m]))', legend: 'write' },
          ],
          width: 8,
        },
        {
          title: 'RPC queue, flush and compaction queues',
          description: 'Calls waiting in the region server’s RPC queue; memstore flushes and compactions waiting. Growing queues come before slow writes.',
          unit: 'none',
          queries: [
            { expr: 'sum(region_server_queue_size{job="hbase"})', legend: 'rpc queue (bytes of calls)' },
            { expr: 'sum(server_flush_queue_length{job="hbase"})', legend: 'flush queue' },
            { expr: 'sum(server_compaction_queue_length{job="hbase"})', legend: 'compaction queue' },
          ],
          width: 8,
        },
        {
          title: 'Memstore size',
          description: 'Data written but not yet flushed to store files.',
          unit: 'bytes',
          queries: [{ expr: 'sum(server_mem_store_size{job="hbase"})', legend: 'memstore' }],
          width: 8,
        },
      ],
    },
    {
      title: 'Redis (redis_exporter)',
      panels: [
        {
          title: 'Commands per second',
          description: 'Commands Redis processed (sequences, seen sets, caches, popularity, ID rows).',
          unit: 'reqps',
          queries: [{ expr: 'sum(rate(redis_commands_processed_total{job="redis"}[1m]))', legend: 'ops/s' }],
          width: 6,
        },
        {
          title: 'Memory used',
          description: 'Redis’ own memory (data and overhead).',
          unit: 'bytes',
          queries: [{ expr: 'sum(redis_memory_used_bytes{job="redis"})', legend: 'used' }],
          width: 6,
        },
        {
          title: 'Evicted keys per second',
          description: 'Keys Redis dropped for memory: a sequence or seen set evicted is behaviour recall forgets. 0 unless maxmemory is reached.',
          unit: 'reqps',
          queries: [{ expr: 'sum(rate(redis_evicted_keys_total{job="redis"}[5m]))', legend: 'evicted' }],
          width: 6,
        },
        {
          title: 'Connected clients',
          description: 'Client connections (each towerflow process holds one or two).',
          unit: 'none',
          queries: [{ expr: 'sum(redis_connected_clients{job="redis"})', legend: 'clients' }],
          width: 6,
        },
      ],
    },
    {
      title: 'Milvus (:9091/metrics)',
      panels: [
        {
          title: 'Search requests per second',
          description: 'Search calls the proxy answered (one call carries several coalesced recall requests).',
          unit: 'reqps',
          queries: [
            {
              expr: 'sum by (status) (rate(milvus_proxy_req_count{job="milvus",function_name="Search"}[1m]))',
              legend: '{{status}}',
            },
          ],
          width: 8,
        },
        {
          title: 'Search latency p99 (proxy)',
          description: 'Search latency as the proxy measures it, p99 over 5 minutes.',
          unit: 'ms',
          queries: [
            {
              expr: 'histogram_quantile(0.99, sum by (le) (rate(milvus_proxy_sq_latency_bucket{job="milvus",query_type="search"}[5m])))',
              legend: 'p99',
            },
          ],
          width: 8,
        },
        {
          title: 'Query-node segments',
          description: 'Segments loaded on the query node, by state (each published version is one collection).',
          unit: 'none',
          queries: [{ expr: 'sum by (segment_state) (milvus_querynode_segment_num{job="milvus"})', legend: '{{segment_state}}' }],
          width: 8,
        },
      ],
    },
    processes('towerflow processes'),
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [OVERVIEW, INGEST_STREAMS, RECALL, MODEL, EMBEDDINGS, INFRASTRUCTURE];
