import type { ItemVectors } from '../clients/milvus/client.js';
import type { Config } from '../config/index.js';
import type { ModelRegistry } from '../versions/registry.js';

/**
 * Releases `collections` from Milvus memory BATCH_RELEASE_GRACE_SECONDS after a switch made at
 * `switchedAt` (performance.now()). Readers read the live pointer once per request, so after the
 * grace only requests that began before the switch could still search them, and none lasts that
 * long. A collection that is live when the wait ends (the Redis pointer readers follow, or the
 * alias) stays loaded. Failures are reported, not thrown: the switch has happened already.
 */
export async function releaseAfterGrace(
  cfg: Pick<Config, 'batchReleaseGraceSeconds' | 'milvusAlias'>,
  registry: ModelRegistry,
  milvus: ItemVectors,
  collections: string[],
  switchedAt: number,
  say: (m: string) => void,
): Promise<string[]> {
  if (collections.length === 0) return [];
  const waitMs = cfg.batchReleaseGraceSeconds * 1000 - (performance.now() - switchedAt);
  if (waitMs > 0) {
    say(`  releasing ${collections.join(', ')} from Milvus memory in ${Math.ceil(waitMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, waitMs));
  }
  const live = new Set<string | undefined>([
    (await registry.live())?.collection,
    await milvus.aliasTarget(cfg.milvusAlias),
  ]);
  const released: string[] = [];
  for (const c of collections) {
    if (live.has(c)) continue;
    await milvus.release(c).then(
      () => released.push(c),
      (e: Error) => say(`  could not release ${c}: ${e.message}`),
    );
  }
  return released;
}

/** The previous versions' collections that are loaded now (the live one excluded). */
export async function loadedPrevious(registry: ModelRegistry, milvus: ItemVectors): Promise<string[]> {
  const st = await registry.state();
  const live = (await registry.live())?.collection;
  const loaded: string[] = [];
  for (const p of st.previous)
    if (p.collection !== live && (await milvus.isLoaded(p.collection).catch(() => false)))
      loaded.push(p.collection);
  return loaded;
}
