// The one source of truth for configuration: every setting the processes read, with its
// environment variable, default and meaning. `towerflow config` prints this table, and
// the one in docs/configuration.md is generated from it (`towerflow config --markdown`).

export type SettingKind = 'string' | 'int' | 'number' | 'enum' | 'list';

export interface SettingSpec {
  env: string;
  kind: SettingKind;
  default: string;
  doc: string;
  values?: readonly string[];
  /** Smallest accepted value of an `int` (e.g. 1 for a TTL: Redis refuses `EX 0`). */
  min?: number;
}

export const SETTINGS = {
  home: {
    env: 'TOWERFLOW_HOME',
    kind: 'string',
    default: '.towerflow',
    doc: 'Local state folder: downloads, service data, logs, pid files (relative to the project root).',
  },
  bindHost: {
    env: 'TOWERFLOW_BIND_HOST',
    kind: 'string',
    default: '127.0.0.1',
    doc: 'Address that local services and the project’s HTTP servers listen on.',
  },
  localServices: {
    env: 'TOWERFLOW_LOCAL_SERVICES',
    kind: 'list',
    default: 'redis,kafka,hbase,milvus,prometheus',
    doc: 'Services `towerflow infra up` starts locally. Drop the ones you point at external clusters (the list must not be empty; use `none` for no local service).',
  },
  appsNodeArgs: {
    env: 'APPS_NODE_ARGS',
    kind: 'list',
    default: '',
    doc: 'Extra Node.js flags for the processes `towerflow apps up` starts, comma-separated (e.g. `--cpu-prof,--cpu-prof-dir=/tmp/prof` to profile a processor; Node refuses those in NODE_OPTIONS).',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    doc: 'Log level of every process (pino).',
  },
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    kind: 'list',
    default: '127.0.0.1:9092',
    doc: 'Comma-separated Kafka bootstrap servers.',
  },
  kafkaClientId: {
    env: 'KAFKA_CLIENT_ID',
    kind: 'string',
    default: 'towerflow',
    doc: 'Kafka client id prefix.',
  },
  kafkaControllerPort: {
    env: 'KAFKA_CONTROLLER_PORT',
    kind: 'int',
    default: '9093',
    doc: 'KRaft controller port of the local broker (local infra only).',
  },
  topicBehaviourPartitions: {
    env: 'TOPIC_BEHAVIOUR_PARTITIONS',
    kind: 'int',
    default: '6',
    doc: 'Partitions of `behaviour.events` when the project creates it.',
  },
  topicDlqPartitions: {
    env: 'TOPIC_DLQ_PARTITIONS',
    kind: 'int',
    default: '1',
    doc: 'Partitions of `behaviour.dlq` when the project creates it.',
  },
  topicItemPartitions: {
    env: 'TOPIC_ITEM_PARTITIONS',
    kind: 'int',
    default: '3',
    doc: 'Partitions of `item.events` when the project creates it.',
  },
  topicUserPartitions: {
    env: 'TOPIC_USER_PARTITIONS',
    kind: 'int',
    default: '3',
    doc: 'Partitions of `user.events` when the project creates it.',
  },
  topicExposurePartitions: {
    env: 'TOPIC_EXPOSURE_PARTITIONS',
    kind: 'int',
    default: '3',
    doc: 'Partitions of `recall.exposures` (every answer the recall API returns) when the project creates it.',
  },
  topicPrefix: {
    env: 'KAFKA_TOPIC_PREFIX',
    kind: 'string',
    default: '',
    doc: 'Prefix of every topic name (e.g. `staging.`), so that several deployments can share a cluster.',
  },
  topicReplication: {
    env: 'TOPIC_REPLICATION_FACTOR',
    kind: 'int',
    default: '1',
    doc: 'Replication factor of the project’s topics (3 on a production cluster).',
  },
  redisUrl: {
    env: 'REDIS_URL',
    kind: 'string',
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis URL (`redis://[user:pass@]host:port[/db]`).',
  },
  milvusAddress: {
    env: 'MILVUS_ADDRESS',
    kind: 'string',
    default: '127.0.0.1:19530',
    doc: 'Milvus gRPC address (`host:port`).',
  },
  milvusToken: {
    env: 'MILVUS_TOKEN',
    kind: 'string',
    default: '',
    doc: 'Milvus token (`user:password` or API key); empty for none.',
  },
  milvusEngine: {
    env: 'MILVUS_ENGINE',
    kind: 'enum',
    values: ['standalone', 'lite'],
    default: 'standalone',
    doc: 'Which local Milvus `towerflow infra up` starts: the real Milvus 2.3.5 standalone from PyPI `milvus` (run in a private network namespace bridged to loopback; needs root) or the Python `milvus-lite` 3.2.2 server. Ignored for external clusters.',
  },
  hbaseZkQuorum: {
    env: 'HBASE_ZK_QUORUM',
    kind: 'string',
    default: '127.0.0.1:2181',
    doc: 'ZooKeeper of the local HBase (`host:port`; local infra only: clients go through the Thrift2 gateway).',
  },
  hbaseThriftAddress: {
    env: 'HBASE_THRIFT_ADDRESS',
    kind: 'string',
    default: '127.0.0.1:9095',
    doc: 'HBase Thrift2 gateway (`host:port`, binary protocol, buffered transport) that every HBase call goes through.',
  },
  hbaseThriftPool: {
    env: 'HBASE_THRIFT_POOL',
    kind: 'int',
    default: '4',
    doc: 'Connections per process to the Thrift2 gateway.',
  },
  hbaseHeap: {
    env: 'HBASE_HEAP',
    kind: 'string',
    default: '1g',
    doc: 'Max heap of the local HBase JVM (local infra only).',
  },
  hbaseNamespace: {
    env: 'HBASE_NAMESPACE',
    kind: 'string',
    default: 'towerflow',
    doc: 'HBase namespace of the project’s tables.',
  },
  ingestPort: {
    env: 'INGEST_PORT',
    kind: 'int',
    default: '8080',
    doc: 'Port of the ingest API (`towerflow ingest`).',
  },
  ingestApiKeys: {
    env: 'INGEST_API_KEYS',
    kind: 'list',
    default: '',
    doc: 'Comma-separated API keys producers may use (`Authorization: Bearer KEY` or `X-Api-Key: KEY`). Empty: a random key is generated once into `$TOWERFLOW_HOME/ingest-api-key` (mode 600) and used by `towerflow replay`.',
  },
  ingestMaxBatch: {
    env: 'INGEST_MAX_BATCH',
    kind: 'int',
    default: '2000',
    doc: 'Most events one ingest request may carry.',
  },
  ingestMaxBodyBytes: {
    env: 'INGEST_MAX_BODY_BYTES',
    kind: 'int',
    default: '2097152',
    doc: 'Largest ingest request body, in bytes (413 above).',
  },
  ingestAckTimeoutMs: {
    env: 'INGEST_ACK_TIMEOUT_MS',
    kind: 'int',
    default: '5000',
    doc: 'How long the ingest API waits for Kafka to acknowledge a request’s events before answering 503.',
  },
  recallPort: {
    env: 'RECALL_PORT',
    kind: 'int',
    default: '8081',
    doc: 'Port of the recall API (`towerflow serve`).',
  },
  exposureMaxInFlight: {
    env: 'EXPOSURE_MAX_IN_FLIGHT',
    kind: 'int',
    default: '10000',
    doc: 'Exposures a recall API instance may have unacknowledged by Kafka; beyond it (or while Kafka is unreachable) exposures are dropped and counted, never waited for.',
  },
  recallMaxK: {
    env: 'RECALL_MAX_K',
    kind: 'int',
    default: '500',
    doc: 'Largest `k` a recall request may ask for.',
  },
  recallMilvusTimeoutMs: {
    env: 'RECALL_MILVUS_TIMEOUT_MS',
    kind: 'int',
    default: '1000',
    doc: 'Deadline of one Milvus search in the recall API, waiting behind other searches included; past it the answer is popular items, `degraded`.',
  },
  recallUserTower: {
    env: 'RECALL_USER_TOWER',
    kind: 'enum',
    values: ['js', 'tensorflow'],
    default: 'js',
    doc: 'How `towerflow serve` computes a request’s user vector. `js`: a plain-JS forward pass over the version’s user-side weights (one row through TensorFlow costs ~17 tfjs ops; the JS pass took serve’s CPU per request down 7 %, docs/decisions.md, Recall API); `tensorflow`: the TensorFlow towers. The same vectors within float32 rounding (unit test).',
  },
  recallSearchBatch: {
    env: 'RECALL_SEARCH_BATCH',
    kind: 'int',
    default: '16',
    doc: 'Most concurrent recall requests coalesced into one Milvus search (nq); 1 sends each alone. A request never waits for others: only those that arrive while a search is in flight are batched.',
  },
  recallPopularityBeta: {
    env: 'RECALL_POPULARITY_BETA',
    kind: 'number',
    default: '0',
    doc: 'Default popularity correction β: the top 2·k are re-scored `s − β·ln(1 + count)` (all-time count) before cutting to k; 0 turns it off. A request may set `popularity_beta`.',
  },
  userVectorTtlSeconds: {
    env: 'USER_VECTOR_TTL_SECONDS',
    kind: 'int',
    min: 1,
    default: '300',
    doc: 'How long a computed user vector stays cached in Redis (dropped earlier when the user has new behaviour).',
  },
  profileCacheTtlSeconds: {
    env: 'PROFILE_CACHE_TTL_SECONDS',
    kind: 'int',
    min: 1,
    default: '604800',
    doc: 'How long the Redis copy of a user profile that recall reads lives (written through by the items processor, filled from HBase on a miss; HBase stays the store of record).',
  },
  streamMetricsPortBase: {
    env: 'STREAM_METRICS_PORT_BASE',
    kind: 'int',
    default: '9401',
    doc: 'Stream processors serve `/metrics`, `/livez` and `/readyz` (`/healthz` as `/readyz`) on this port plus their index: history +0, sequence +1, items +2, embeddings +3.',
  },
  streamConcurrency: {
    env: 'STREAM_PARTITION_CONCURRENCY',
    kind: 'int',
    default: '6',
    doc: 'Partitions a stream processor handles at once (each partition stays in order); up to the topic’s partition count is useful.',
  },
  historySaltBuckets: {
    env: 'HISTORY_SALT_BUCKETS',
    kind: 'int',
    default: '16',
    doc: 'Salt buckets (and initial regions) of the HBase history table; fixed once the table exists.',
  },
  sequenceLength: {
    env: 'SEQUENCE_LENGTH',
    kind: 'int',
    default: '50',
    doc: 'Events kept per user in the Redis recent sequence.',
  },
  sequenceTtlSeconds: {
    env: 'SEQUENCE_TTL_SECONDS',
    kind: 'int',
    min: 1,
    default: '2592000',
    doc: 'A user’s Redis sequence expires this long after their last event (HBase keeps the full history).',
  },
  seenIgnoredTypes: {
    env: 'SEEN_IGNORED_TYPES',
    kind: 'list',
    default: 'impression',
    doc: 'Event types that do not make an item "seen" (comma-separated). Every other behaviour puts its item in the user’s seen set, which the recall API leaves out of its answers. Changing it applies to new events; `towerflow seen rebuild --replace` applies it to the past.',
  },
  seenTtlSeconds: {
    env: 'SEEN_TTL_SECONDS',
    kind: 'int',
    default: '15552000',
    doc: 'A user’s seen set expires this long after their last counted event (0: never); `towerflow seen rebuild` restores it from HBase.',
  },
  onlineWindowSeconds: {
    env: 'ONLINE_WINDOW_SECONDS',
    kind: 'int',
    min: 1,
    default: '1800',
    doc: 'Online hit rate: a behaviour event counts against the recall answer the user got at most this long before it (the answer is kept in Redis this long).',
  },
  onlineAnswerItems: {
    env: 'ONLINE_ANSWER_ITEMS',
    kind: 'int',
    min: 1,
    default: '100',
    doc: 'How many of an answer’s top items are kept for the online hit rate (ranks beyond count as misses).',
  },
  embeddingsBatchEvents: {
    env: 'EMBEDDINGS_BATCH_EVENTS',
    kind: 'int',
    default: '2048',
    doc: 'Most events in one micro-batch of the ID-embedding updater (one set of gradient steps for all its users). Larger costs less per event (each micro-batch has a fixed cost of TensorFlow ops and Redis round trips) and adds latency only under load.',
  },
  embeddingsBatchWaitMs: {
    env: 'EMBEDDINGS_BATCH_WAIT_MS',
    kind: 'int',
    default: '200',
    doc: 'Longest the ID-embedding updater waits for a micro-batch to fill before updating the rows it has.',
  },
  embeddingsLearningRate: {
    env: 'EMBEDDINGS_LEARNING_RATE',
    kind: 'number',
    default: '0.05',
    doc: 'SGD learning rate of the incremental user-ID row updates (towers and item vectors stay frozen).',
  },
  embeddingsSteps: {
    env: 'EMBEDDINGS_STEPS',
    kind: 'int',
    default: '5',
    doc: 'Gradient steps per micro-batch of the incremental user-ID row updates.',
  },
  embeddingsNegatives: {
    env: 'EMBEDDINGS_NEGATIVES',
    kind: 'int',
    default: '256',
    doc: 'Uniform random negatives (live item vectors) per step of the incremental user-ID row updates.',
  },
  embeddingsClipNorm: {
    env: 'EMBEDDINGS_CLIP_NORM',
    kind: 'number',
    default: '1',
    doc: 'Per-row gradient norm clip of each incremental step: one micro-batch moves a row by at most steps × learning rate × clip.',
  },
  embeddingsMaxRowNorm: {
    env: 'EMBEDDINGS_MAX_ROW_NORM',
    kind: 'number',
    default: '0',
    doc: 'Largest L2 norm an incrementally updated user-ID row may reach (rows are scaled back onto it); 0 means the largest row norm of the live version’s user-ID table.',
  },
  modelRegistryDir: {
    env: 'MODEL_REGISTRY_DIR',
    kind: 'string',
    default: '',
    doc: 'Folder of model versions and the live pointer; empty means `$TOWERFLOW_HOME/models`. Shared storage when batch and serving run on different hosts.',
  },
  tfMatmulPrecision: {
    env: 'TF_MATMUL_PRECISION',
    kind: 'enum',
    values: ['bf16', 'fp32'],
    default: 'bf16',
    doc: 'Precision of TensorFlow’s float32 matrix products in every process that loads the model. `bf16` lets oneDNN round a matmul’s inputs to bfloat16 (accumulating in float32) on CPUs with AMX or AVX-512 BF16: training steps ran 1.05–1.3× faster with HR@50 unchanged within noise (docs/decisions.md, Model); other CPUs and small products stay float32. `fp32` keeps full precision. An explicit `ONEDNN_DEFAULT_FPMATH_MODE` wins over this.',
  },
  tfTrainStep: {
    env: 'TF_TRAIN_STEP',
    kind: 'enum',
    values: ['native', 'tape'],
    default: 'native',
    doc: 'How a training step gets its gradients. `native` runs the hand-written forward and backward pass on raw TensorFlow ops, with the weights in TensorFlow resource variables updated in place (docs/decisions.md, Model); `tape` records the step on tfjs’s autodiff tape, the reference it is tested against. Other tfjs backends always use the tape.',
  },
  milvusAlias: {
    env: 'MILVUS_ALIAS',
    kind: 'string',
    default: 'towerflow_items',
    doc: 'Milvus alias that points at the live model version’s item collection; also the prefix of each version’s collection name (letters, digits, underscores).',
  },
  batchWindowDays: {
    env: 'BATCH_WINDOW_DAYS',
    kind: 'int',
    default: '30',
    doc: 'Days of history (ending with `--date`) the daily job trains on.',
  },
  batchEpochs: {
    env: 'BATCH_EPOCHS',
    kind: 'int',
    default: '1',
    doc: 'Training epochs of the daily job (warm-started from the live version).',
  },
  batchFirstEpochs: {
    env: 'BATCH_FIRST_EPOCHS',
    kind: 'int',
    default: '10',
    doc: 'Training epochs of a run with no live version to warm-start from (the first run): one epoch from scratch leaves the towers far from converged.',
  },
  batchPublishTraining: {
    env: 'BATCH_PUBLISH_TRAINING',
    kind: 'enum',
    values: ['all', 'split'],
    default: 'all',
    doc: 'What the published version is trained on. `all`: the gate measures the recipe on a model trained without each user’s last event, then the job trains again on the whole window and publishes that (twice the training time; served HR@50 0.264 → 0.30 on ml-latest-small, docs/decisions.md). `split`: the gate’s own model is published.',
  },
  batchGateTolerance: {
    env: 'BATCH_GATE_TOLERANCE',
    kind: 'string',
    default: '0.01',
    doc: 'Largest drop of HR@50 (new vs live, same held-out slice) the gate accepts before refusing to publish without `--force`.',
  },
  batchGateUsers: {
    env: 'BATCH_GATE_USERS',
    kind: 'int',
    default: '5000',
    doc: 'Held-out users the gate evaluates (a seeded sample when the window has more; both versions see the same users).',
  },
  batchKeepVersions: {
    env: 'BATCH_KEEP_VERSIONS',
    kind: 'int',
    default: '3',
    doc: 'Published versions kept (the live one and the previous ones `batch rollback` can return to); older collections and folders are removed.',
  },
  batchReleaseGraceSeconds: {
    env: 'BATCH_RELEASE_GRACE_SECONDS',
    kind: 'int',
    default: '30',
    doc: "Seconds after a switch (publish or `batch rollback`) before the replaced version's collection is released from Milvus memory, long enough for requests that read the old pointer to finish; `batch rollback` loads a released one back first.",
  },
  batchSchedule: {
    env: 'BATCH_SCHEDULE',
    kind: 'string',
    default: '0 3 * * *',
    doc: 'Cron expression (UTC) on which `towerflow batch schedule` runs the job.',
  },
  prometheusPort: {
    env: 'PROMETHEUS_PORT',
    kind: 'int',
    default: '9090',
    doc: 'Port of the local Prometheus (local infra only).',
  },
  prometheusTargetsDir: {
    env: 'PROMETHEUS_TARGETS_DIR',
    kind: 'string',
    default: '',
    doc: 'Folder where each process writes its file_sd target file for Prometheus; empty means `$TOWERFLOW_HOME/run/targets` (what the local Prometheus reads).',
  },
  prometheusUrl: {
    env: 'PROMETHEUS_URL',
    kind: 'string',
    default: 'http://127.0.0.1:9090',
    doc: 'Prometheus base URL (status checks, benchmarks).',
  },
  javaHome: {
    env: 'TOWERFLOW_JAVA_HOME',
    kind: 'string',
    default: '',
    doc: 'JDK 17+ used for local Kafka and HBase; empty means `JAVA_HOME`, then `java` on PATH.',
  },
  python: {
    env: 'TOWERFLOW_PYTHON',
    kind: 'string',
    default: 'python3',
    doc: 'Python 3.9–3.11 used to create the venv that runs local Milvus.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
