import type { HistoryEvent, HistoryStore } from '../stores/history/index.js';
import type { SeenStore } from '../stores/seen/index.js';

export interface RebuildResult {
  users: number;
  events: number;
}

/** Events gathered before one write to the seen sets (bounds memory and a round trip). */
const FLUSH_EVENTS = 5000;

/**
 * The seen sets from the full history in HBase. The scan goes in row-key order (salt, user,
 * newest first), so one user's events are contiguous and only one user is held at a time.
 * Default: the history's items are added (a union: nothing a processor adds meanwhile is lost).
 * `replace`: each user's set becomes exactly what the history says (drops items of types that
 * no longer count); an event applied by the sequence processor between the scan of that user
 * and the write would then be missing until the user's next event, so run it while
 * `behaviour.events` is quiet, or follow it with a plain rebuild.
 */
export async function rebuildSeen(
  history: HistoryStore,
  seen: SeenStore,
  o: { replace?: boolean; users?: string[]; onProgress?: (r: RebuildResult) => void } = {},
): Promise<RebuildResult> {
  const done: RebuildResult = { users: 0, events: 0 };
  let pending: HistoryEvent[] = [];
  const flush = async () => {
    if (pending.length > 0) await seen.add(pending);
    pending = [];
    o.onProgress?.(done);
  };
  const one = async (user: string, events: HistoryEvent[]) => {
    done.users++;
    done.events += events.length;
    if (o.replace) await seen.replace(user, events);
    else {
      pending.push(...events);
      if (pending.length >= FLUSH_EVENTS) await flush();
    }
  };
  if (o.users) {
    for (const u of o.users) await one(u, await history.since(u, 0));
  } else {
    let user: string | undefined;
    let events: HistoryEvent[] = [];
    for await (const e of history.scanTime(0, Number.MAX_SAFE_INTEGER)) {
      if (e.user_id !== user) {
        if (user !== undefined) await one(user, events);
        user = e.user_id;
        events = [];
      }
      events.push(e);
    }
    if (user !== undefined) await one(user, events);
  }
  await flush();
  return done;
}
