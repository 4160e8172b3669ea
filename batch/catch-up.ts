import type { HBaseClient } from '../clients/hbase/thrift2.js';
import type { Redis } from '../clients/redis.js';
import type { ModelVersion } from '../model/version.js';
import { HBaseProfileStore } from '../stores/profiles/hbase.js';
import { RedisItemChangeLog } from '../stores/profiles/redis-changes.js';
import type { ItemVectorStore } from '../stores/vectors/index.js';
import { ItemBypass } from '../versions/item-bypass.js';

/** Margin for the clocks of the items processor and the process catching up. */
export const CLOCK_SKEW_MS = 60_000;

export interface CaughtUp {
  upserted: number;
  deleted: number;
  unchanged: number;
  /** Why the catch-up failed (the bypass keeps applying new changes). */
  error?: string;
}

/**
 * Items the items processor changed since `sinceMs` (its change log, wall clock), written with
 * their state now into `version`'s collection through `model`'s item tower: the daily job after
 * its switch, an experiment's start for its candidate. Call it once the item bypass writes that
 * collection too, so what changes later goes there by the bypass. `model` is loaded only when an
 * item changed (and disposed here if loaded here). A failure is said and returned, not thrown.
 */
export async function catchUpItems(
  d: { hbase: HBaseClient; redis: Redis; vectorStore: ItemVectorStore },
  version: string,
  model: ModelVersion | (() => Promise<ModelVersion>),
  sinceMs: number,
  say: (m: string) => void,
): Promise<CaughtUp> {
  let loaded: ModelVersion | undefined;
  try {
    const bypass = new ItemBypass(
      d.vectorStore,
      new HBaseProfileStore(d.hbase),
      new RedisItemChangeLog(d.redis),
    );
    const ids = await bypass.changedSince(sinceMs - CLOCK_SKEW_MS);
    if (ids.length === 0) return { upserted: 0, deleted: 0, unchanged: 0 };
    if (typeof model === 'function') loaded = await model();
    const { upserted, deleted, unchanged } = await bypass.applyTo(
      { pointer: { version }, model: loaded ?? (model as ModelVersion) },
      ids,
    );
    say(`  ${upserted} items re-inferred, ${deleted} removed, ${unchanged} already up to date`);
    return { upserted, deleted, unchanged };
  } catch (e) {
    say(`  catch-up failed (the bypass keeps applying new changes): ${(e as Error).message}`);
    return { upserted: 0, deleted: 0, unchanged: 0, error: (e as Error).message };
  } finally {
    loaded?.dispose();
  }
}
