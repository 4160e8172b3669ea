import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HBaseClient } from '../clients/hbase/thrift2.js';
import type { Redis } from '../clients/redis.js';
import type { Config } from '../config/index.js';
import { ExitCode, UserFacingError } from '../runtime/errors.js';
import { RedisIdRowStore } from '../stores/embeddings/redis.js';
import type { ItemVectorStore } from '../stores/vectors/index.js';
import { announceLive } from '../versions/channel.js';
import {
  defineExperiment,
  type ExperimentDefinition,
  ExperimentError,
  type StartRequest,
} from '../versions/experiments/definition.js';
import { ExperimentRegistry } from '../versions/experiments/registry.js';
import { LOCK_KEY, withLock } from '../versions/lock.js';
import { type LivePointer, ModelRegistry } from '../versions/registry.js';
import { type CaughtUp, catchUpItems } from './catch-up.js';
import { releaseAfterGrace } from './release.js';

// The operator's side of an experiment (DESIGN.md §9): start it, promote its candidate the way a
// daily publish switches a version, or abort it and free the candidate. Promote and abort hold
// the batch job's lease, so they never interleave with a publish, a rollback or each other, and
// each decides from the state it finds under the lease: run twice, or at once, they change
// things once.

export interface ExperimentDeps {
  cfg: Config;
  redis: Redis;
  vectorStore: ItemVectorStore;
}

export interface ExperimentOutcome {
  definition: ExperimentDefinition;
  /** false: it was in that state already, and nothing changed. */
  changed: boolean;
}

/** A start also needs the item profiles (HBase) to catch the candidate's collection up. */
export interface StartDeps extends ExperimentDeps {
  hbase: HBaseClient;
}

export interface StartOutcome extends ExperimentOutcome {
  /** Items changed since the candidate was built, written into its collection (a start that changed something). */
  caughtUp?: CaughtUp;
}

export interface PromoteOutcome extends ExperimentOutcome {
  /** The live pointer after the call. */
  live: LivePointer;
  /** This call moved the alias and the live pointer (false when the candidate was live already). */
  switched: boolean;
  released: string[];
}

export interface AbortOutcome extends ExperimentOutcome {
  /** What became of the candidate's collection. */
  candidate: 'dropped' | 'released' | 'kept live' | 'kept for another experiment';
  /** The candidate's ID rows (the version slot the embeddings processor moved) dropped by this call. */
  idRows: number;
}

/** The lease is held for a load and a switch, plus the grace before a release. */
const leaseWaitMs = (cfg: Pick<Config, 'batchReleaseGraceSeconds'>) =>
  (cfg.batchReleaseGraceSeconds + 180) * 1000;

function registries(d: ExperimentDeps) {
  const models = new ModelRegistry(d.cfg, d.redis);
  return { models, experiments: new ExperimentRegistry(d.redis, models.dir) };
}

/**
 * An experiment's refusal as the CLI prints it, exit `code`. Its messages read `cause: what to do`
 * (definition.ts, registry.ts), so the part after the first `: ` is the fix.
 */
function refused(e: ExperimentError | string, code: ExitCode = ExitCode.REFUSED): UserFacingError {
  const text = typeof e === 'string' ? e : e.message;
  const [cause, fix] = text.split(': ', 2) as [string, string | undefined];
  return new UserFacingError({ cause, ...(fix ? { fix } : {}), exitCode: code });
}

async function definitionOf(experiments: ExperimentRegistry, name: string): Promise<ExperimentDefinition> {
  const def = await experiments.get(name);
  if (!def)
    throw new UserFacingError({
      cause: `no experiment named ${name}`,
      fix: '`towerflow experiment status` lists them',
      exitCode: ExitCode.USAGE,
    });
  return def;
}

const sameRequest = (a: ExperimentDefinition, b: ExperimentDefinition): boolean =>
  a.alias === b.alias && a.candidate === b.candidate && a.mode === b.mode && a.share === b.share;

/**
 * The pointer that makes `version` live: the registry's own when it was published before, else
 * one from its folder (its towers' output width) and its collection.
 */
export async function pointerOf(
  models: ModelRegistry,
  vectorStore: ItemVectorStore,
  version: string,
): Promise<LivePointer> {
  const st = await models.state();
  const known = [st.live, ...st.previous].find((p) => p?.version === version);
  if (known) return { ...known, publishedAt: new Date().toISOString() };
  let dim: number;
  try {
    const m = JSON.parse(await readFile(path.join(models.versionDir(version), 'model.json'), 'utf8')) as {
      towers: { outDim: number };
    };
    dim = m.towers.outDim;
  } catch {
    throw new UserFacingError({
      cause: `model version ${version} has no folder in ${models.dir}`,
      fix: 'name a version the daily job built (`towerflow batch status` lists the published ones)',
      exitCode: ExitCode.USAGE,
    });
  }
  return {
    version,
    collection: vectorStore.collectionOf(version),
    dim,
    publishedAt: new Date().toISOString(),
  };
}

/**
 * Starts an experiment on the live alias: the candidate must have a folder and a collection, which
 * is loaded before any recall API instance can read the definition. Then the items changed since
 * the candidate was built go into its collection through its item tower, as the daily job does
 * after a switch: from the start on the item bypass writes them there itself. Starting one that
 * runs already with the same settings changes nothing (`changed: false`).
 */
export async function startExperiment(
  d: StartDeps,
  req: StartRequest,
  say: (m: string) => void = () => {},
): Promise<StartOutcome> {
  const { models, experiments } = registries(d);
  const live = await models.live();
  let def: ExperimentDefinition;
  try {
    def = defineExperiment(req, live && { alias: d.cfg.milvusAlias, version: live.version }, new Date());
  } catch (e) {
    if (e instanceof ExperimentError) throw refused(e, ExitCode.USAGE);
    throw e;
  }
  const again = async (): Promise<ExperimentOutcome | undefined> => {
    const existing = await experiments.get(def.name);
    if (existing?.state === 'running' && sameRequest(existing, def))
      return { definition: existing, changed: false };
    return undefined;
  };
  const same = await again();
  if (same) return same;
  // under the daily job's lock, as promote and abort: no publish, rollback or retire can move the
  // alias, or release or drop the candidate, between the checks below and the definition's write
  return withLock(
    d.redis,
    LOCK_KEY,
    120_000,
    async (lease) => {
      const raced = await again();
      if (raced) return raced;
      const running = await experiments.running(def.alias);
      if (running)
        throw refused(
          `experiment ${running.name} is already running on ${def.alias}: promote or abort it first`,
        );
      if ((await experiments.get(def.name)) !== undefined)
        throw refused(
          `an experiment named ${def.name} exists already: choose another --name`,
          ExitCode.USAGE,
        );
      const current = await models.live();
      if (current?.version !== def.control)
        throw refused(`the live version moved to ${current?.version ?? 'none'} meanwhile: start again`);
      await pointerOf(models, d.vectorStore, def.candidate);
      if (!(await d.vectorStore.exists(def.candidate)))
        throw new UserFacingError({
          cause: `model version ${def.candidate} has no collection in Milvus (${d.vectorStore.collectionOf(def.candidate)})`,
          fix: 'name a version whose collection was built and not retired',
          exitCode: ExitCode.USAGE,
        });
      say(`loading ${d.vectorStore.collectionOf(def.candidate)}`);
      await d.vectorStore.load(def.candidate);
      let started: ExperimentDefinition;
      try {
        lease.assertHeld();
        started = await experiments.start(def);
      } catch (e) {
        // a concurrent start of the same experiment won: that is this one
        const won = await again();
        if (won) return won;
        // lost: the candidate goes back out of memory unless something else serves it
        if (!(await experiments.heldVersions()).has(def.candidate))
          await d.vectorStore.release(def.candidate).catch(() => {});
        if (e instanceof ExperimentError) throw refused(e);
        throw e;
      }
      const dir = models.versionDir(def.candidate);
      const caughtUp = await catchUpItems(
        d,
        def.candidate,
        // TensorFlow loads only when an item changed
        async () => (await import('../model/version.js')).ModelVersion.load(dir),
        await builtAt(dir),
        say,
      );
      return { definition: started, changed: true, caughtUp };
    },
    leaseWaitMs(d.cfg),
  );
}

/**
 * When a version's towers were saved (metadata.json), from which its collection may miss item
 * changes; 0 (everything the change log still holds) when it does not say.
 */
async function builtAt(dir: string): Promise<number> {
  try {
    const meta = JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8')) as {
      createdAt?: string;
    };
    return Date.parse(meta.createdAt ?? '') || 0;
  } catch {
    return 0;
  }
}

/**
 * Makes the candidate live the way a publish does (load, alias, then the live pointer: the commit
 * point readers follow, then the reload announced), ends the experiment as promoted, and releases
 * the control's collection after the grace. Under the lease it decides from what it finds: a
 * promoted experiment is left as it is, and a candidate that is live already (a promote that
 * stopped before ending the experiment) is not switched again.
 */
export async function promoteExperiment(
  d: ExperimentDeps,
  name: string,
  say: (m: string) => void = () => {},
): Promise<PromoteOutcome> {
  const { models, experiments } = registries(d);
  return withLock(
    d.redis,
    LOCK_KEY,
    120_000,
    async (lease) => {
      const def = await definitionOf(experiments, name);
      if (def.state === 'aborted')
        throw refused(
          `experiment ${name} was aborted: its candidate may be gone; start a new experiment to try it again`,
        );
      const current = await models.live();
      if (def.state === 'promoted')
        return {
          definition: def,
          changed: false,
          switched: false,
          live: current as LivePointer,
          released: [],
        };
      let live = current;
      let switchedAt: number | undefined;
      if (current?.version !== def.candidate) {
        const pointer = await pointerOf(models, d.vectorStore, def.candidate);
        say(`loading ${pointer.collection}`);
        await d.vectorStore.load(def.candidate);
        lease.assertHeld();
        switchedAt = performance.now();
        await d.vectorStore.switchLive(def.candidate);
        // the commit point: readers follow this one SET
        await models.publish(pointer, (e) =>
          say(`registry.json not updated (Redis holds the pointer): ${e.message}`),
        );
        await announceLive(d.redis, 'promoted', pointer).catch((e: Error) =>
          say(`reload message not sent: ${e.message}`),
        );
        say(`switched: ${pointer.version} is live (collection ${pointer.collection})`);
        live = pointer;
      }
      const ended = await experiments.end(name, 'promoted');
      const from = current && current.version !== def.candidate ? [current] : [];
      const released =
        switchedAt === undefined
          ? []
          : await releaseAfterGrace(d.cfg, models, d.vectorStore, from, switchedAt, say, () =>
              experiments.heldVersions(),
            );
      return {
        definition: ended.definition,
        changed: ended.changed,
        switched: switchedAt !== undefined,
        live: live as LivePointer,
        released,
      };
    },
    leaseWaitMs(d.cfg),
  );
}

/**
 * Ends the experiment as aborted (recall API instances stop splitting at once) and, after the
 * grace for requests that read the definition before, frees the candidate: dropped when nothing
 * else refers to it, released when rollback may still return to it, kept when it is live or
 * another running experiment serves it; the candidate's ID rows go with a dropped or released
 * collection. Run again, it frees what is still to free.
 */
export async function abortExperiment(
  d: ExperimentDeps,
  name: string,
  say: (m: string) => void = () => {},
): Promise<AbortOutcome> {
  const { models, experiments } = registries(d);
  return withLock(
    d.redis,
    LOCK_KEY,
    120_000,
    async () => {
      const known = await definitionOf(experiments, name);
      if (known.state === 'promoted')
        throw refused(
          `experiment ${name} was promoted: its candidate ${known.candidate} is live; \`towerflow batch rollback\` returns to the version before it`,
        );
      const { definition, changed } = await experiments.end(name, 'aborted');
      const endedAt = Date.parse(definition.endedAt ?? '') || Date.now();
      const waitMs = d.cfg.batchReleaseGraceSeconds * 1000 - (Date.now() - endedAt);
      if (waitMs > 0) {
        say(`freeing ${d.vectorStore.collectionOf(definition.candidate)} in ${Math.ceil(waitMs / 1000)} s`);
        await new Promise((r) => setTimeout(r, waitMs));
      }
      const candidate = await freeCandidate(d, models, experiments, definition.candidate);
      // its incremental ID rows: no arm reads them any more (a live or still-served version keeps them)
      const idRows =
        candidate === 'dropped' || candidate === 'released'
          ? await new RedisIdRowStore(d.redis).dropVersion(definition.candidate)
          : 0;
      say(`candidate ${definition.candidate}: ${candidate}, ${idRows} ID rows dropped`);
      return { definition, changed, candidate, idRows };
    },
    leaseWaitMs(d.cfg),
  );
}

async function freeCandidate(
  d: ExperimentDeps,
  models: ModelRegistry,
  experiments: ExperimentRegistry,
  version: string,
): Promise<AbortOutcome['candidate']> {
  const live = new Set([(await models.live())?.version, await d.vectorStore.liveVersion()]);
  if (live.has(version)) return 'kept live';
  if ((await experiments.heldVersions()).has(version)) return 'kept for another experiment';
  const st = await models.state();
  if (st.previous.some((p) => p.version === version)) {
    // rollback may still return to it: stored, not loaded
    await d.vectorStore.release(version).catch(async (e: Error) => {
      if (await d.vectorStore.exists(version)) throw e;
    });
    return 'released';
  }
  await d.vectorStore.drop(version);
  return 'dropped';
}
