// Reads of stored rows by expression: queries, counts, and a scan of every vector by key order.
import type { MilvusConnection } from './connection.js';
import { stringLiteral } from './filter.js';
import { PK, VEC } from './schema.js';
import { type AnyResult, checkStatus } from './status.js';

export class RowQuery {
  constructor(private readonly conn: MilvusConnection) {}

  async query(
    name: string,
    filter: string,
    outputFields: string[],
    limit = 1000,
  ): Promise<Record<string, unknown>[]> {
    const res = checkStatus(
      `query ${name}`,
      await this.conn.client.query({
        collection_name: name,
        filter,
        output_fields: outputFields,
        limit,
      } as AnyResult),
    );
    return res.data ?? [];
  }

  /**
   * Every (item_id, vector) of a collection, page by page: each page asks for the keys after the
   * previous page's largest (Milvus reduces query results in primary-key order before cutting at
   * the limit; the SDK's queryIterator relies on the same), so no offset scan grows with the size.
   */
  async *scanVectors(
    name: string,
    pageSize = 16_384,
  ): AsyncGenerator<{ item_id: string; vector: number[] }[]> {
    let after = '';
    for (;;) {
      const page = (await this.query(name, `${PK} > ${stringLiteral(PK, after)}`, [PK, VEC], pageSize)).map(
        (r) => ({ item_id: String(r[PK]), vector: r[VEC] as number[] }),
      );
      if (page.length === 0) return;
      yield page;
      if (page.length < pageSize) return;
      for (const r of page) if (r.item_id > after) after = r.item_id;
    }
  }

  async count(name: string): Promise<number> {
    const res = checkStatus(
      `count ${name}`,
      await this.conn.client.query({
        collection_name: name,
        filter: '',
        output_fields: ['count(*)'],
      } as AnyResult),
    );
    return Number(res.data?.[0]?.['count(*)'] ?? 0);
  }
}
