import { IdRowUpdater, type IncrementalConfig, type LiveItems } from '../../model/incremental.js';
import type { ItemChangeLog } from '../../stores/profiles/index.js';
import type { ItemVectorStore } from '../../stores/vectors/index.js';
import type { Served } from '../../versions/live-models.js';

/**
 * The live version's item vectors, read from its Milvus collection rather than recomputed with
 * the item tower over the HBase profiles: the collection is what recall searches (it includes
 * the item bypass's upserts and deletes), and paging it by primary key moves 100k × 64 floats in
 * a few seconds, while a full HBase profile scan plus item-tower inference is slower and would
 * re-derive what Milvus already holds.
 */
export async function loadLiveItems(
  vectorStore: ItemVectorStore,
  version: string,
  dim: number,
): Promise<Loaded> {
  const ids: string[] = [];
  const pages: number[][][] = [];
  for await (const page of vectorStore.scan(version)) {
    pages.push(page.map((r) => r.vector));
    for (const r of page) ids.push(r.item_id);
  }
  const vectors = new Float32Array(ids.length * dim);
  let row = 0;
  for (const page of pages)
    for (const v of page) {
      if (v.length !== dim)
        throw new Error(`${version}: a vector has ${v.length} values, the version's ${dim}`);
      vectors.set(v, row++ * dim);
    }
  return { ids, vectors };
}

interface Loaded {
  /** Item id of each row of `vectors`. */
  ids: string[];
  vectors: Float32Array;
}

interface State extends Loaded {
  updater: IdRowUpdater;
}

interface Held {
  version: string;
  state: Promise<State>;
}

/** Time between looks at the item change log; new and changed items join the negatives that late. */
const CHANGES_EVERY_MS = 60_000;
/**
 * The change log is stamped before the item bypass writes Milvus: each look re-reads this much
 * before the previous one, so an item logged just before a look but upserted after it is not missed.
 */
const CHANGES_SLACK_MS = 30_000;
/** An updater replaced while a micro-batch may still hold it is disposed this much later. */
const DISPOSE_AFTER_MS = 30_000;

/**
 * One IdRowUpdater for a served version (the live one, or an experiment's), holding its item vectors in memory. A new version
 * (noticed on the pointer each batch reads, or warmed on the publish message) loads its vectors
 * once; items the item bypass changed since are re-read from the collection every minute.
 */
export class LiveUpdaters {
  private held?: Held;
  private checkedAt = 0;
  private refreshing = false;

  constructor(
    private readonly vectorStore: ItemVectorStore,
    private readonly changes: ItemChangeLog,
    private readonly cfg: IncrementalConfig,
    private readonly onLoad: (info: { version: string; items: number; seconds: number }) => void = () => {},
  ) {}

  /** The updater of `live`'s version: loads it on first use, refreshes changed items in the background. */
  updaterFor(live: Served): Promise<IdRowUpdater> {
    const held = this.held;
    if (held?.version === live.version) {
      if (Date.now() - this.checkedAt > CHANGES_EVERY_MS && !this.refreshing) {
        this.refreshing = true;
        this.refreshChanged(live, held)
          .catch(() => {}) // retried at the next look; the current vectors stay usable
          .finally(() => {
            this.refreshing = false;
          });
      }
      return held.state.then((s) => s.updater);
    }
    const checkedAt = Date.now();
    const t0 = performance.now();
    const state = loadLiveItems(this.vectorStore, live.version, live.model.dim).then((l) => {
      this.onLoad({
        version: live.version,
        items: l.ids.length,
        seconds: (performance.now() - t0) / 1000,
      });
      return this.build(live, l);
    });
    // a failed load is retried by the next batch
    state.catch(() => {
      if (this.held?.state === state) this.held = undefined;
    });
    this.replace({ version: live.version, state });
    this.checkedAt = checkedAt;
    return state.then((s) => s.updater);
  }

  private build(live: Served, l: Loaded): State {
    const items: LiveItems = { vectors: l.vectors, rowOf: new Map(l.ids.map((id, i) => [id, i])) };
    return { ...l, updater: new IdRowUpdater(live.model, items, this.cfg) };
  }

  private replace(next: Held): void {
    const old = this.held;
    this.held = next;
    if (old)
      setTimeout(() => old.state.then((s) => s.updater.dispose()).catch(() => {}), DISPOSE_AFTER_MS).unref();
  }

  /** Re-reads the items the change log names since the last look; deleted ones leave the set. */
  private async refreshChanged(live: Served, held: Held): Promise<void> {
    const since = this.checkedAt - CHANGES_SLACK_MS;
    const now = Date.now();
    const changed = await this.changes.since(since);
    if (changed.length === 0) {
      this.checkedAt = now;
      return;
    }
    const fresh = new Map<string, number[]>();
    for (let i = 0; i < changed.length; i += 1000) {
      const rows = await this.vectorStore.fetch(live.version, changed.slice(i, i + 1000), [
        'item_id',
        'vector',
      ]);
      for (const r of rows) fresh.set(String(r.item_id), r.vector as number[]);
    }
    const current = await held.state;
    const dim = live.model.dim;
    const gone = new Set(changed.filter((id) => !fresh.has(id)));
    const ids: string[] = [];
    const parts: (Float32Array | number[])[] = [];
    current.ids.forEach((id, i) => {
      if (gone.has(id) || fresh.has(id)) return;
      ids.push(id);
      parts.push(current.vectors.subarray(i * dim, (i + 1) * dim));
    });
    for (const [id, v] of fresh) {
      ids.push(id);
      parts.push(v);
    }
    const vectors = new Float32Array(ids.length * dim);
    parts.forEach((v, i) => {
      vectors.set(v, i * dim);
    });
    if (this.held !== held) return; // a new version arrived meanwhile
    this.replace({ version: held.version, state: Promise.resolve(this.build(live, { ids, vectors })) });
    this.checkedAt = now;
  }

  dispose(): void {
    this.held?.state.then((s) => s.updater.dispose()).catch(() => {});
    this.held = undefined;
  }
}
