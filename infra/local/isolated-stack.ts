import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type Admin, logLevel } from 'kafkajs';
import { groupLag } from '../../clients/kafka/admin.js';
import { createKafka } from '../../clients/kafka/kafkajs.js';
import { topicNames } from '../../clients/kafka/topics.js';
import { type Config, loadConfig } from '../../config/index.js';
import { groupIdOf, type ProcessorName } from '../../streams/runtime.js';
import { appPaths, appsDown, appsUp, findApp, instanceDown, instanceOf, instanceUp } from './apps.js';
import { isAlive, readPid } from './process.js';
import { resetProjectState } from './reset.js';

/**
 * The project’s processes started for one test file or benchmark against the shared real services, isolated
 * by their own topic prefix, consumer groups, HBase namespace, Redis database, ports and home.
 */
export class IsolatedStack {
  readonly env: NodeJS.ProcessEnv;
  readonly cfg: Config;
  readonly apiKey = `test-${randomBytes(8).toString('hex')}`;
  /** The recall API's read key (RECALL_API_KEYS). */
  readonly recallKey = `test-r-${randomBytes(8).toString('hex')}`;
  private admin?: Admin;

  constructor(
    private readonly opts: {
      redisDb: number;
      portOffset: number;
      extraEnv?: NodeJS.ProcessEnv;
      /** The admin client's log level (kafkajs); a drill that kills the broker expects its errors. */
      kafkaLogLevel?: logLevel;
    },
  ) {
    const id = `t${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    this.env = {
      ...process.env,
      TOWERFLOW_HOME: path.join('.towerflow', 'test-homes', id),
      KAFKA_TOPIC_PREFIX: `${id}.`,
      KAFKA_CLIENT_ID: id,
      HBASE_NAMESPACE: id,
      REDIS_URL: `redis://127.0.0.1:6379/${opts.redisDb}`,
      INGEST_PORT: String(18080 + opts.portOffset),
      RECALL_PORT: String(18180 + opts.portOffset),
      STREAM_METRICS_PORT_BASE: String(19401 + opts.portOffset * 10),
      INGEST_API_KEYS: this.apiKey,
      RECALL_API_KEYS: this.recallKey,
      MILVUS_ALIAS: `tf_${id}`,
      // announce the processes to the local Prometheus, which reads the default home's targets
      PROMETHEUS_TARGETS_DIR: path.join(loadConfig().homeDir, 'run', 'targets'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...opts.extraEnv,
    };
    this.cfg = loadConfig(this.env);
  }

  get ingestUrl(): string {
    return `http://127.0.0.1:${this.cfg.ingestPort}`;
  }

  get recallUrl(): string {
    return `http://127.0.0.1:${this.cfg.recallPort}`;
  }

  /** Headers that authenticate a recall request. */
  get recallAuth(): Record<string, string> {
    return { authorization: `Bearer ${this.recallKey}` };
  }

  get topics() {
    return topicNames(this.cfg);
  }

  /** Starts the apps (instances 0 … `instances`−1 of each, default 1) and waits until each is ready. */
  up(names?: string[], opts: { instances?: number } = {}): Promise<void> {
    return appsUp(this.cfg, names, { env: this.env, timeoutMs: 90_000, instances: opts.instances });
  }

  /** Stops every instance of the apps gracefully. */
  down(names?: string[]): Promise<void> {
    return appsDown(this.cfg, names);
  }

  /** Starts instance `index` of an app (if it is not running) and waits until it is ready. */
  startInstance(name: string, index: number): Promise<void> {
    return instanceUp(this.cfg, name, index, { env: this.env, timeoutMs: 90_000 });
  }

  /** SIGTERM to one instance: it finishes its batch, commits, leaves its group; resolves once it is gone. */
  async stopInstance(name: string, index: number): Promise<void> {
    await instanceDown(this.cfg, name, index);
  }

  /** Base URL of an app's instance (its /metrics, /readyz, and the API of ingest and serve). */
  urlOf(name: string, index = 0): string {
    return `http://127.0.0.1:${instanceOf(this.cfg, findApp(name), index).port}`;
  }

  /**
   * SIGSTOP or SIGCONT to the instance's whole process group: a stopped process holds still (no
   * write, no commit), so a test can look at what it has done and then kill it in that very state.
   */
  pause(name: string, paused: boolean, index = 0): void {
    const pid = readPid(appPaths(this.cfg, name, index).pidFile);
    if (pid === undefined) throw new Error(`${name} (instance ${index}) has no pid file`);
    process.kill(-pid, paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /**
   * SIGKILL to the instance's whole process group: no drain, no commit. Resolves once the process is
   * gone: a signalled process lives on for a moment, and `up` would take it for running.
   */
  async kill9(name: string, index = 0): Promise<void> {
    const pid = readPid(appPaths(this.cfg, name, index).pidFile);
    if (pid === undefined) throw new Error(`${name} (instance ${index}) has no pid file`);
    process.kill(-pid, 'SIGKILL');
    const end = Date.now() + 10_000;
    while (isAlive(pid)) {
      if (Date.now() > end) throw new Error(`${name} (pid ${pid}) still alive 10 s after SIGKILL`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async kafkaAdmin(): Promise<Admin> {
    if (!this.admin) {
      this.admin = createKafka(this.cfg, { logLevel: this.opts.kafkaLogLevel ?? logLevel.ERROR }).admin();
      await this.admin.connect();
    }
    return this.admin;
  }

  /** Total lag of a processor's group on a topic. */
  async lag(processor: ProcessorName, topic = this.topics.behaviour): Promise<number> {
    const lags = await groupLag(await this.kafkaAdmin(), groupIdOf(this.cfg, processor), topic);
    return [...lags.values()].reduce((a, b) => a + b, 0);
  }

  async waitForZeroLag(processors: ProcessorName[], timeoutMs = 120_000, topic?: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lags = await Promise.all(processors.map((p) => this.lag(p, topic)));
      if (lags.every((l) => l === 0)) return;
      if (Date.now() > end) throw new Error(`lag still ${lags.join(', ')} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Total records in a topic (sum of end offsets). */
  async topicSize(topic: string): Promise<number> {
    const offs = await (await this.kafkaAdmin()).fetchTopicOffsets(topic);
    return offs.reduce((a, o) => a + Number(o.high), 0);
  }

  async post(
    route: string,
    body: unknown,
    headers: Record<string, string> = {},
    // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies of several shapes
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const res = await fetch(`${this.ingestUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** Stops the apps and removes the test's topics, groups, tables and collections (its home with the logs stays, under .towerflow/). */
  async close(): Promise<void> {
    await this.down();
    await this.admin?.disconnect();
    await resetProjectState(this.cfg, { redisAndRegistry: false });
  }
}
