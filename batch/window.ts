import { compareInteractions } from '../model/data/order.js';
import { itemRecordOf, userRecordOf } from '../model/data/profiles.js';
import type { Dataset, Interaction, ItemRecord, UserRecord } from '../model/data/types.js';
import type { HistoryStore } from '../stores/history/index.js';
import type { ProfileStore } from '../stores/profiles/index.js';

const DAY_MS = 86_400_000;

/** [from, to) in ms: the `days` UTC days ending with `date` (YYYY-MM-DD), inclusive. */
export function windowRange(date: string, days: number): { from: number; to: number } {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
    throw new Error(`--date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`window days must be a positive integer, got ${days}`);
  const to = Date.parse(`${date}T00:00:00Z`) + DAY_MS;
  return { from: to - days * DAY_MS, to };
}

export interface WindowStats {
  events: number;
  users: number;
  items: number;
  removedItems: number;
  /** Items with events but no profile: kept as bare (ID-only) item records. */
  itemsWithoutProfile: number;
  /** Events on those items (kept). */
  eventsWithoutProfile: number;
}

/**
 * The training window as a Dataset: behaviour from the history (time-range scan), the corpus
 * from the item profiles (removed items left out, and their events with them), user profiles.
 */
export async function readWindow(
  history: HistoryStore,
  profiles: ProfileStore,
  range: { from: number; to: number },
  name: string,
  onProgress?: (events: number) => void,
): Promise<{ ds: Dataset; stats: WindowStats }> {
  const items = new Map<string, ItemRecord>();
  const removed = new Set<string>();
  for await (const s of profiles.scanItems()) {
    if (s.removed) removed.add(s.item_id);
    else items.set(s.item_id, itemRecordOf(s));
  }
  const users = new Map<string, UserRecord>();
  for await (const p of profiles.scanUsers()) users.set(p.user_id, userRecordOf(p));

  const interactions: Interaction[] = [];
  const bare = new Set<string>();
  let bareEvents = 0;
  for (const e of await history.collectTime(range.from, range.to, 4, onProgress)) {
    if (removed.has(e.item_id)) continue;
    if (!items.has(e.item_id)) bare.add(e.item_id);
    if (bare.has(e.item_id)) bareEvents++;
    // the event id is the key: the (ts, key) order of model/data/order.ts is then exactly the
    // online sequence's (ts, event_id) order (stores/order.ts)
    const x: Interaction = {
      user: e.user_id,
      item: e.item_id,
      ts: e.ts / 1000,
      type: e.type,
      key: e.event_id,
      row: 0,
    };
    if (e.value !== undefined) x.value = e.value;
    interactions.push(x);
  }
  // storage order is by salt and user; rows are numbered in time order for messages only
  interactions.sort(compareInteractions);
  interactions.forEach((x, i) => {
    x.row = i;
    if (!users.has(x.user)) users.set(x.user, { id: x.user, categorical: {} });
  });
  const bareItems = [...bare].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of bareItems) items.set(id, { id, categorical: {}, numeric: {} });
  const ds: Dataset = { name, interactions, items, users, skipped: [] };
  if (bareItems.length > 0)
    ds.idOnly = { source: 'item profiles', items: bareItems, interactions: bareEvents };
  return {
    ds,
    stats: {
      events: interactions.length,
      users: new Set(interactions.map((x) => x.user)).size,
      items: items.size,
      removedItems: removed.size,
      itemsWithoutProfile: bareItems.length,
      eventsWithoutProfile: bareEvents,
    },
  };
}
