import type { Redis } from '../clients/redis.js';
import { type LivePointer, ModelRegistry } from './registry.js';

/** Channel on which processes that hold a model version hear that another one went live. */
export const MODEL_CHANNEL = 'tf:model:events';

export type ModelEvent = { event: 'published' | 'rolled-back' | 'promoted' } & LivePointer;

/** Tells every process holding a model version that the live one changed (best effort: readers
 * also read the live pointer on each use, so a lost message only costs a cold first request). */
export function announceLive(
  redis: Redis,
  event: ModelEvent['event'],
  pointer: LivePointer,
): Promise<number> {
  return redis.publish(MODEL_CHANNEL, JSON.stringify({ event, ...pointer }));
}

/** The version a model event names, or an error saying why the message is ignored. */
export function versionOfEvent(message: string): { version: string } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return { error: 'ignored a model event that is not JSON' };
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (typeof version === 'string' && ModelRegistry.isVersionName(version)) return { version };
  return { error: 'ignored a model event without a valid version' };
}

/**
 * Subscribes `sub` (a dedicated connection: a subscribed Redis connection can do nothing else)
 * to model events; `onVersion` hears each valid one.
 */
export async function onModelEvents(
  sub: Redis,
  onVersion: (version: string) => void,
  onIgnored: (why: string, message: string) => void = () => {},
): Promise<void> {
  sub.on('message', (channel, message) => {
    if (channel !== MODEL_CHANNEL) return;
    const r = versionOfEvent(message);
    if ('version' in r) onVersion(r.version);
    else onIgnored(r.error, message.slice(0, 200));
  });
  await sub.subscribe(MODEL_CHANNEL);
}

/**
 * Channel on which an experiment's start and end are announced, so every recall API instance and
 * the embeddings processor re-read the running experiment at once instead of at their next poll.
 */
export const EXPERIMENT_CHANNEL = 'tf:exp:events';

/** Best effort, as announceLive: readers also poll (EXPERIMENT_REFRESH_MS). */
export function announceExperiment(
  redis: Redis,
  event: 'started' | 'ended',
  name: string,
  alias: string,
): Promise<number> {
  return redis.publish(EXPERIMENT_CHANNEL, JSON.stringify({ event, name, alias }));
}

/**
 * Subscribes `sub` (a dedicated connection, as for onModelEvents; the same one may carry both)
 * to experiment events; `onChange` hears each, whatever it says: the reader re-reads Redis, so
 * a message is only a wake-up and its content is never trusted.
 */
export async function onExperimentEvents(sub: Redis, onChange: () => void): Promise<void> {
  sub.on('message', (channel) => {
    if (channel === EXPERIMENT_CHANNEL) onChange();
  });
  await sub.subscribe(EXPERIMENT_CHANNEL);
}
