import type { HBaseClient, HRow } from '../../clients/hbase/thrift2.js';
import { assertId } from '../../clients/keys.js';
import type { ItemEvent } from '../../schemas/item.js';
import type { UserProfileEvent } from '../../schemas/user.js';
import type { ItemState, ProfileStore, UserProfile } from './index.js';

export const ITEMS_TABLE = 'items';
export const USERS_TABLE = 'users';
const CELL = 'p:j';

/**
 * Profiles in HBase, one row per id (no salt: profile writes are rare next to behaviour), the
 * state as JSON in one cell stamped with the event time. HBase returns the cell with the
 * highest timestamp, so an older event delivered late (or again) cannot overwrite a newer one.
 */
export class HBaseProfileStore implements ProfileStore {
  constructor(private readonly hbase: HBaseClient) {}

  async ensure(): Promise<void> {
    await this.hbase.ensureNamespace();
    for (const table of [ITEMS_TABLE, USERS_TABLE])
      await this.hbase.createTable(table, [{ name: 'p', maxVersions: 1 }]);
  }

  applyItems(events: ItemEvent[]): Promise<void> {
    return this.hbase.putMany(
      ITEMS_TABLE,
      events.map((e) => {
        const state: ItemState = {
          item_id: e.item_id,
          ts: e.ts,
          event_id: e.event_id,
          removed: e.op === 'remove',
          features: e.features ?? {},
        };
        return { row: assertId('item_id', e.item_id), cells: { [CELL]: JSON.stringify(state) }, ts: e.ts };
      }),
    );
  }

  applyUsers(events: UserProfileEvent[]): Promise<void> {
    return this.hbase.putMany(
      USERS_TABLE,
      events.map((e) => {
        const p: UserProfile = { user_id: e.user_id, ts: e.ts, event_id: e.event_id, profile: e.profile };
        return { row: assertId('user_id', e.user_id), cells: { [CELL]: JSON.stringify(p) }, ts: e.ts };
      }),
    );
  }

  async getItem(itemId: string): Promise<ItemState | undefined> {
    const r = await this.hbase.get(ITEMS_TABLE, assertId('item_id', itemId));
    return r ? decode<ItemState>(r) : undefined;
  }

  getItems(itemIds: string[]): Promise<(ItemState | undefined)[]> {
    return this.getRows<ItemState>(ITEMS_TABLE, 'item_id', itemIds);
  }

  async getUser(userId: string): Promise<UserProfile | undefined> {
    const r = await this.hbase.get(USERS_TABLE, assertId('user_id', userId));
    return r ? decode<UserProfile>(r) : undefined;
  }

  getUsers(userIds: string[]): Promise<(UserProfile | undefined)[]> {
    return this.getRows<UserProfile>(USERS_TABLE, 'user_id', userIds);
  }

  /** Rows of `table` in the order asked, in one round trip. */
  private async getRows<T>(table: string, field: string, ids: string[]): Promise<(T | undefined)[]> {
    if (ids.length === 0) return [];
    const rows = await this.hbase.getMany(
      table,
      ids.map((id) => assertId(field, id)),
    );
    return rows.map((r) => (r ? decode<T>(r) : undefined));
  }

  async *scanItems(): AsyncGenerator<ItemState> {
    for await (const r of this.hbase.scan(ITEMS_TABLE, { batch: 2000 })) yield decode<ItemState>(r);
  }

  async *scanUsers(): AsyncGenerator<UserProfile> {
    for await (const r of this.hbase.scan(USERS_TABLE, { batch: 2000 })) yield decode<UserProfile>(r);
  }
}

function decode<T>(r: HRow): T {
  const cell = r.cells.get(CELL);
  if (!cell) throw new Error(`profile row ${r.row.toString()} has no ${CELL} cell`);
  return JSON.parse(cell.toString()) as T;
}
