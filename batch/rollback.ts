import type { Redis } from '../clients/redis.js';
import type { Config } from '../config/index.js';
import type { ItemVectorStore } from '../stores/vectors/index.js';
import { announceLive } from '../versions/channel.js';
import { ExperimentRegistry } from '../versions/experiments/registry.js';
import { LOCK_KEY, withLock } from '../versions/lock.js';
import type { LivePointer, ModelRegistry } from '../versions/registry.js';
import { releaseAfterGrace } from './release.js';

export interface RollbackResult {
  live: LivePointer;
  /** The collection rolled back from, when it was released from Milvus memory. */
  released: string[];
}

/**
 * Makes the previous published version live again, holding the batch job's lease so that no
 * publish or release runs in between. Its collection was released from Milvus memory after the
 * publish that replaced it, so it is loaded before the pointer moves: readers never get a
 * pointer whose collection cannot be searched. The version rolled back from is released after
 * the grace, like a replaced one. Undefined when there is no previous version.
 */
export function rollBack(
  cfg: Pick<Config, 'batchReleaseGraceSeconds'>,
  registry: ModelRegistry,
  vectorStore: ItemVectorStore,
  redis: Redis,
  say: (m: string) => void = () => {},
): Promise<RollbackResult | undefined> {
  return withLock(redis, LOCK_KEY, 120_000, async (lease) => {
    const target = (await registry.state()).previous[0];
    if (!target) return undefined;
    const from = await registry.live();
    say(`loading ${target.collection}`);
    await vectorStore.load(target.version);
    lease.assertHeld();
    const switchedAt = performance.now();
    const back = await registry.rollback();
    if (!back) return undefined;
    await vectorStore.switchLive(back.version);
    await announceLive(redis, 'rolled-back', back);
    say(`switched: ${back.version} is live (collection ${back.collection})`);
    const experiments = new ExperimentRegistry(redis, registry.dir);
    const released =
      from && from.version !== back.version
        ? await releaseAfterGrace(cfg, registry, vectorStore, [from], switchedAt, say, () =>
            experiments.heldVersions(),
          )
        : [];
    return { live: back, released };
  });
}
