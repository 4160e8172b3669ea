import { compareInteractions } from '../model/data/order.js';
import { itemRecordOf, userRecordOf } from '../model/data/profiles.js';
import type { Dataset, Interaction, ItemRecord, UserRecord } from '../model/data/types.js';
import { ExitCode, UserFacingError } from '../runtime/errors.js';
import type { HistoryStore } from '../stores/history/index.js';
import type { ProfileStore } from '../stores/profiles/index.js';

const DAY_MS = 86_400_000;

/** `--date` as the CLI accepts it: a real UTC day, YYYY-MM-DD. */
export function isDay(date: string): boolean {
  const t = Date.parse(`${date}T00:00:00Z`);
  // a day that does not exist (02-30) either fails to parse or lands on another day
  return /^\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(t) && new Date(t).toISOString().startsWith(date);
}

/** [from, to) in ms: the `days` UTC days ending with `date` (YYYY-MM-DD), inclusive. */
export function windowRange(date: string, days: number): { from: number; to: number } {
  if (!isDay(date))
    throw new UserFacingError({
      cause: `--date must be a day as YYYY-MM-DD, got ${JSON.stringify(date)}`,
      exitCode: ExitCode.USAGE,
    });
  if (!Number.isInteger(days) || days < 1)
    throw new UserFacingError({
      cause: `the window must be a positive whole number of days, got ${days}`,
      fix: 'pass --window-days N or set BATCH_WINDOW_DAYS',
      exitCode: ExitCode.USAGE,
    });
  const to = Date.parse(`${date}T00:00:00Z`) + DAY_MS;
  return { from: to - days * DAY_MS, to };
}

/** The training window holds no behaviour: nothing to train on, nothing published. */
export class EmptyWindowError extends UserFacingError {
  override name = 'EmptyWindowError';
  constructor(range: { from: number; to: number }) {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const days = Math.round((range.to - range.from) / DAY_MS);
    super({
      cause: `no behaviour events in the window ${day(range.from)} .. ${day(range.to - DAY_MS)} (${days} days, UTC); nothing published`,
      fix: 'pass --date YYYY-MM-DD (the window’s last day; default yesterday) or a larger --window-days, or ingest events first (`towerflow replay`)',
      exitCode: ExitCode.REFUSED,
    });
  }
}

/** Throws EmptyWindowError when the window read holds no events. */
export function assertEvents(stats: Pick<WindowStats, 'events'>, range: { from: number; to: number }): void {
  if (stats.events === 0) throw new EmptyWindowError(range);
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
