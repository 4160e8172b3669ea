import { setTimeout as sleep } from 'node:timers/promises';
import { logLevel } from 'kafkajs';
import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis, type Redis } from '../clients/redis.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import { makeContext, up } from '../infra/local/stack.js';
import { loadDataset } from '../model/data/load.js';
import type { Dataset } from '../model/data/types.js';
import { IngestClient } from '../replay/client.js';
import { behaviourEvents } from '../replay/events.js';
import { replay } from '../replay/run.js';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import type { UserProfileEvent } from '../schemas/user.js';
import { RedisIdRowStore } from '../stores/embeddings/redis.js';
import { HBaseHistoryStore } from '../stores/history/hbase.js';
import { RedisPopularityStore } from '../stores/popularity/redis.js';
import { HBaseProfileStore } from '../stores/profiles/hbase.js';
import { RedisSequenceStore } from '../stores/sequence/redis.js';
import { openItemVectors } from '../stores/vectors/open.js';
import { LOCK_KEY } from '../versions/lock.js';
import { ModelRegistry } from '../versions/registry.js';
import { auditPhase, type PhaseStores } from './audit.js';
import { type JobWindow, jobWindow, startDailyJob } from './daily-job.js';
import { type Fault, type FaultName, faultOf } from './faults.js';
import { emptyBooks, pacedPost, postProfiles, RecallProbe } from './load.js';
import { type FaultResult, phaseResult } from './report.js';

// A fault drill: the project's processes on the shared local services under a prefix of their
// own (IsolatedStack), a model published, then per fault one phase: events posted at a fixed rate
// while recall is asked, the component killed (kill -9) a third of the way in and restarted after
// a set downtime, then the lag waited to zero and every store's books checked exactly (audit.ts).

export interface DrillOptions {
  faults: readonly FaultName[];
  /** Behaviour events per second during each phase. */
  rate: number;
  /** Events per phase. */
  phaseEvents: number;
  /** Seconds between the kill and the restart. */
  downSeconds: number;
  /** Interactions replayed (original users) before the first publish. */
  seedEvents: number;
  epochs: number;
  dataset: string;
  /** Isolation of the drill's stack from others on the same services. */
  redisDb: number;
  portOffset: number;
  say: (m: string) => void;
}

export interface DrillReport {
  version: string;
  faults: FaultResult[];
  /** Faults whose drill could not finish (the stack did not come back, a wait ran out…), with why. */
  failed: { name: FaultName; error: string }[];
}

const PROCESSORS = [
  ['history', 'behaviour'],
  ['sequence', 'behaviour'],
  ['embeddings', 'behaviour'],
  ['items', 'users'],
] as const;

/** Total lag of the stack's processors; undefined while Kafka does not answer. */
async function totalLag(stack: IsolatedStack): Promise<number | undefined> {
  try {
    const lags = await Promise.all(PROCESSORS.map(([p, role]) => stack.lag(p, stack.topics[role])));
    return lags.reduce((a, b) => a + b, 0);
  } catch {
    return undefined;
  }
}

/** Lag every 250 ms while a phase runs, with the time of each sample. */
class LagSampler {
  readonly samples: { at: number; lag: number | undefined }[] = [];
  private stopped = false;
  private loop?: Promise<void>;
  constructor(private readonly stack: IsolatedStack) {}
  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        this.samples.push({ at: Date.now(), lag: await totalLag(this.stack) });
        await sleep(250);
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** A dataset event under a user and an id of the phase's own (`TAG-…`), so that each phase's books stand apart. */
export const phaseEvent = (e: BehaviourEvent, tag: string): BehaviourEvent => ({
  ...e,
  event_id: `${tag}-${e.event_id}`,
  user_id: `${tag}-${e.user_id}`,
});

/** Phase k's events: a slice of the dataset's events (cycling), under users and ids of the phase's own. */
export function phaseEvents(
  all: readonly BehaviourEvent[],
  k: number,
  n: number,
  offset: number,
): BehaviourEvent[] {
  const out: BehaviourEvent[] = [];
  for (let i = 0; i < n; i++)
    out.push(phaseEvent(all[(offset + k * n + i) % all.length] as BehaviourEvent, `d${k}`));
  return out;
}

interface Drill {
  o: DrillOptions;
  stack: IsolatedStack;
  redis: Redis;
  stores: PhaseStores;
  events: BehaviourEvent[];
  window: JobWindow;
  probeUsers: string[];
  version: string;
}

export async function runDrill(o: DrillOptions): Promise<DrillReport> {
  const ctx = makeContext(o.say);
  const stack = new IsolatedStack({
    redisDb: o.redisDb,
    portOffset: o.portOffset,
    extraEnv: { EMBEDDINGS_APPLIED_LEDGER: 'on', LOG_LEVEL: 'warn' },
    // the broker drill makes every lag probe fail until it is back: the sampler records that
    kafkaLogLevel: logLevel.NOTHING,
  });
  const redis = createRedis(stack.cfg);
  const hbase = HBaseClient.fromConfig(stack.cfg);
  await redis.connect();
  await redis.flushdb();
  try {
    o.say(
      `drill stack: topics ${stack.cfg.topicPrefix}*, Redis db ${o.redisDb}, logs ${stack.cfg.homeDir}/logs`,
    );
    await stack.up();
    const ds = await loadDataset(o.dataset);
    const events = behaviourEvents(ds);
    const window = jobWindow(ds, o.epochs);
    const drill: Drill = {
      o,
      stack,
      redis,
      events,
      window,
      probeUsers: [],
      version: '',
      stores: {
        history: new HBaseHistoryStore(hbase, stack.cfg.historySaltBuckets),
        sequence: new RedisSequenceStore(redis, {
          length: stack.cfg.sequenceLength,
          ttlSeconds: stack.cfg.sequenceTtlSeconds,
        }),
        popularity: new RedisPopularityStore(redis),
        rows: new RedisIdRowStore(redis),
        profiles: new HBaseProfileStore(hbase),
        sequenceLength: stack.cfg.sequenceLength,
      },
    };
    await seed(drill, ds);
    const faults: FaultResult[] = [];
    const failed: DrillReport['failed'] = [];
    for (const [k, name] of o.faults.entries()) {
      const fault = faultOf(name, ctx, stack);
      try {
        faults.push(await phase(drill, k, name, fault));
      } catch (e) {
        // the next fault starts from a stack brought back whole, or says why it cannot
        const error = (e as Error).message;
        o.say(`${name}: the drill did not finish: ${error}`);
        failed.push({ name, error });
        await recover(drill, ctx);
      }
    }
    return { version: drill.version, faults, failed };
  } finally {
    hbase.close();
    await redis.quit().catch(() => redis.disconnect());
    await stack.close();
  }
}

/** After a failed phase: every service and process up again, and the lag drained. */
async function recover(d: Drill, ctx: ReturnType<typeof makeContext>): Promise<void> {
  await up(ctx);
  await d.stack.up();
  await d.stack.waitForZeroLag(['history', 'sequence', 'embeddings'], 300_000);
}

/** Items, users and the first events under their own ids, then the daily job: a live version. */
async function seed(d: Drill, ds: Dataset): Promise<void> {
  const { o, stack } = d;
  o.say(`seed: items, users and ${o.seedEvents.toLocaleString('en-US')} events`);
  const client = new IngestClient({ baseUrl: stack.ingestUrl, apiKey: stack.apiKey });
  await replay(ds, client, { batch: 500, concurrency: 4, limit: o.seedEvents });
  await stack.waitForZeroLag(['history', 'sequence', 'embeddings'], 300_000);
  o.say('seed: the daily job (first publish)…');
  d.version = await startDailyJob(stack.cfg, stack.env, d.window).done;
  d.probeUsers = [...new Set(d.events.slice(0, o.seedEvents).map((e) => e.user_id))].slice(0, 200);
  o.say(`seed: ${d.version} is live`);
}

async function phase(d: Drill, k: number, name: FaultName, fault: Fault | undefined): Promise<FaultResult> {
  const { o, stack } = d;
  const events = phaseEvents(d.events, k, o.phaseEvents, o.seedEvents);
  const users = [...new Set(events.map((e) => e.user_id))];
  const items = [...new Set(events.map((e) => e.item_id))];
  const mark = `p${k}`;
  const profiles: UserProfileEvent[] = users.map((u, i) => ({
    event_id: `d${k}-profile-${i}`,
    user_id: u,
    ts: events[0]?.ts ?? 0,
    profile: { drill: mark },
  }));
  const counts = await d.stores.popularity.counts('all', items);
  const itemsBefore = new Map(items.map((it, i) => [it, counts[i] ?? 0]));
  const books = emptyBooks();
  const post = { url: stack.ingestUrl, apiKey: stack.apiKey, batchDeadlineMs: 300_000 };
  const probe = new RecallProbe({
    url: stack.recallUrl,
    apiKey: stack.recallKey,
    users: d.probeUsers,
    concurrency: 2,
    k: 50,
  });
  const lag = new LagSampler(stack);
  o.say(
    `${name}: ${events.length.toLocaleString('en-US')} events at ${o.rate}/s, kill -9 a third of the way in`,
  );
  probe.start();
  lag.start();
  const t0 = Date.now();
  const load = pacedPost(events, { ...post, rate: o.rate, batch: 100, concurrency: 4 }, books);
  load.catch(() => {});
  while (books.accepted.size < events.length / 3) {
    if ((await Promise.race([load.then(() => 'done'), sleep(50)])) === 'done') break;
  }
  const liveBefore = d.version;
  const kill = await killAndRestart(d, fault);
  const profilesPosted = postProfiles(profiles, post, books);
  await Promise.all([load, profilesPosted]);
  o.say(
    `${name}: ${books.accepted.size.toLocaleString('en-US')} events acknowledged; waiting for the lag to reach zero`,
  );
  await stack.waitForZeroLag(['history', 'sequence', 'embeddings'], 300_000);
  await stack.waitForZeroLag(['items'], 300_000, stack.topics.users);
  const drained = Date.now();
  await probe.stop();
  await lag.stop();
  const accepted = new Set([...books.accepted].filter((id) => !id.startsWith(`d${k}-profile-`)));
  const audit = await auditPhase(d.stores, {
    accepted,
    posted: new Set(events.map((e) => e.event_id)),
    users,
    itemsBefore,
    profileMark: mark,
    ledger: true,
  });
  const r = phaseResult({
    name,
    rate: o.rate,
    t0,
    kill,
    drained,
    books,
    accepted: accepted.size,
    lag: lag.samples,
    recall: probe.samples,
    audit,
    versions: [liveBefore, d.version],
  });
  o.say(
    `${name}: lost ${r.lost}, doubled ${r.doubled}, recovery ${r.recovery_s} s, recall 5xx ${r.recall_5xx}, degraded ${r.recall_degraded}`,
  );
  if (r.lost + r.doubled > 0) o.say(`${name}: books ${JSON.stringify(audit)}`);
  return r;
}

/** Kills, waits the downtime, restarts; the times of each, and for the daily job what it left. */
async function killAndRestart(
  d: Drill,
  fault: Fault | undefined,
): Promise<{
  killedAt: number;
  backAt: number;
  versions?: { before: string; after: string; leftover: boolean };
}> {
  if (fault) {
    await fault.kill();
    const killedAt = Date.now();
    await sleep(d.o.downSeconds * 1000); // the outage itself: a drill parameter, not a wait for a condition
    await fault.restart();
    return { killedAt, backAt: Date.now() };
  }
  return killDailyJob(d);
}

/**
 * The daily job killed while it writes the new collection: the alias and the live pointer must
 * stay on the old complete version; the next run publishes and removes what the killed one left.
 */
async function killDailyJob(d: Drill) {
  const { stack, o } = d;
  const before = d.version;
  const vectors = openItemVectors(stack.cfg);
  try {
    const job = startDailyJob(stack.cfg, stack.env, d.window);
    job.done.catch(() => {});
    await job.saw(/milvus collection…/);
    // kill once the new version's collection exists, half written
    const end = Date.now() + 120_000;
    let building: string | undefined;
    while (!building) {
      building = (await vectors.versions()).find((v) => v !== before);
      if (!building && Date.now() > end)
        throw new Error('the daily job wrote no new collection within 120 s');
      if (!building) await sleep(100);
    }
    process.kill(-(job.child.pid as number), 'SIGKILL');
    const killedAt = Date.now();
    await job.done.catch(() => {});
    // the killed run's lease on the job lock expires by itself (BATCH lock TTL): until then a new run is refused
    o.say('daily-job: killed; the next run waits for its lease to expire');
    const leaseEnd = Date.now() + 180_000;
    while ((await d.redis.exists(LOCK_KEY)) === 1) {
      if (Date.now() > leaseEnd) throw new Error(`${LOCK_KEY} still held 180 s after the kill`);
      await sleep(500);
    }
    const registry = new ModelRegistry(stack.cfg, d.redis);
    const live = (await registry.live())?.version;
    const alias = await vectors.liveVersion();
    if (live !== before || alias !== before)
      throw new Error(
        `killed before its switch, the job left the pointer on ${live} and the alias on ${alias}, not ${before}`,
      );
    o.say(`daily-job: killed while writing ${building}; ${before} still live; running the job again`);
    const after = await startDailyJob(stack.cfg, stack.env, d.window).done;
    d.version = after;
    const left = (await vectors.versions()).filter((v) => v === building);
    return { killedAt, backAt: Date.now(), versions: { before, after, leftover: left.length > 0 } };
  } finally {
    await vectors.close();
  }
}
