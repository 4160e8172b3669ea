import type { Config } from '../config/index.js';
import type { ItemVectorStore } from '../stores/vectors/index.js';
import type { LivePointer, ModelRegistry } from '../versions/registry.js';

/**
 * Releases the versions of `pointers` from Milvus memory BATCH_RELEASE_GRACE_SECONDS after a
 * switch made at `switchedAt` (performance.now()). Readers read the live pointer once per
 * request, so after the grace only requests that began before the switch could still search
 * them, and none lasts that long. A version that is live when the wait ends (the Redis pointer
 * readers follow, or the alias) stays loaded, and so does one a running experiment serves
 * (`held`). Failures are reported, not thrown: the switch has happened already. Returns the
 * collections released.
 */
export async function releaseAfterGrace(
  cfg: Pick<Config, 'batchReleaseGraceSeconds'>,
  registry: ModelRegistry,
  vectorStore: ItemVectorStore,
  pointers: LivePointer[],
  switchedAt: number,
  say: (m: string) => void,
  /** Versions a running experiment serves, read after the grace (one may have started meanwhile). */
  heldNow: () => Promise<ReadonlySet<string>> = async () => new Set(),
): Promise<string[]> {
  if (pointers.length === 0) return [];
  const waitMs = cfg.batchReleaseGraceSeconds * 1000 - (performance.now() - switchedAt);
  if (waitMs > 0) {
    say(
      `  releasing ${pointers.map((p) => p.collection).join(', ')} from Milvus memory in ${Math.ceil(waitMs / 1000)} s`,
    );
    await new Promise((r) => setTimeout(r, waitMs));
  }
  const live = new Set<string | undefined>([
    (await registry.live())?.version,
    await vectorStore.liveVersion(),
  ]);
  const held = await heldNow();
  const released: string[] = [];
  for (const p of pointers) {
    if (live.has(p.version)) continue;
    if (held.has(p.version)) {
      say(`  ${p.collection} stays loaded: a running experiment serves it`);
      continue;
    }
    await vectorStore.release(p.version).then(
      () => released.push(p.collection),
      (e: Error) => say(`  could not release ${p.collection}: ${e.message}`),
    );
  }
  return released;
}

/** The previous versions that are loaded now (the live one excluded). */
export async function loadedPrevious(
  registry: ModelRegistry,
  vectorStore: ItemVectorStore,
): Promise<LivePointer[]> {
  const st = await registry.state();
  const live = (await registry.live())?.version;
  const loaded: LivePointer[] = [];
  for (const p of st.previous)
    if (p.version !== live && (await vectorStore.isLoaded(p.version).catch(() => false))) loaded.push(p);
  return loaded;
}
