// Row writes: inserts and upserts column-encoded (columnWrite.ts), deletes by primary key.
import { ColumnWriteEncoder, type WriteKind } from './columnWrite.js';
import type { MilvusConnection } from './connection.js';
import { idsFilter } from './filter.js';
import { type ItemRow, PK } from './schema.js';
import { type AnyResult, checkStatus, MilvusError } from './status.js';

export class RowWriter {
  private encoder: ColumnWriteEncoder | undefined;

  constructor(private readonly conn: MilvusConnection) {}

  async insert(name: string, rows: readonly ItemRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const res = await this.write('insert', name, rows);
    return Number(res.insert_cnt ?? rows.length);
  }

  async upsert(name: string, rows: readonly ItemRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const res = await this.write('upsert', name, rows);
    return Number(res.upsert_cnt ?? rows.length);
  }

  /** Delete by primary keys (safer than delete-by-expression on Milvus 2.3). */
  async deleteByIds(name: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    checkStatus(
      `delete ${name}`,
      await this.conn.client.delete({ collection_name: name, filter: idsFilter(PK, ids) } as AnyResult),
    );
  }

  /**
   * Encodes the request column by column (columnWrite.ts) and sends the bytes on one of the
   * SDK's own gRPC channels (`unary`).
   */
  private async write(kind: WriteKind, name: string, rows: readonly ItemRow[]): Promise<AnyResult> {
    const what = `${kind} ${name}`;
    const schema = await this.conn.fields(name);
    this.encoder ??= new ColumnWriteEncoder(this.conn.proto);
    let body: Uint8Array;
    try {
      body = this.encoder.encode(kind, name, schema, rows);
    } catch (e) {
      throw new MilvusError(`${what}: ${(e as Error).message}`);
    }
    const summary = { collection_name: name, rows: rows.length };
    return this.conn.unary(what, name, kind === 'insert' ? 'Insert' : 'Upsert', body, summary);
  }
}
