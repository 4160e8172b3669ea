import type { ItemVectors } from '../clients/milvus/client.js';
import type { Redis } from '../clients/redis.js';
import { MODEL_CHANNEL } from './job.js';
import type { LivePointer, ModelRegistry } from './registry.js';

/**
 * Makes the previous published version live again. Its collection was released from Milvus
 * memory after the publish that replaced it, so it is loaded before the pointer moves: readers
 * never see a pointer whose collection cannot be searched.
 */
export async function rollBack(
  registry: ModelRegistry,
  milvus: ItemVectors,
  redis: Redis,
  alias: string,
): Promise<LivePointer | undefined> {
  const target = (await registry.state()).previous[0];
  if (!target) return undefined;
  await milvus.load(target.collection);
  const back = await registry.rollback();
  if (!back) return undefined;
  await milvus.switchAlias(alias, back.collection);
  await redis.publish(MODEL_CHANNEL, JSON.stringify({ event: 'rolled-back', ...back }));
  return back;
}
