import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PutRow } from '../../../../clients/hbase/thrift2.js';
import { encodeExistsAll, encodePutMultiple } from '../../../../clients/hbase/wire.js';
import { projectRoot } from '../../../../config/index.js';

// The reference: the generated stubs and the thrift library encoding the same calls.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: generated CommonJS stubs without usable typings
type Any = any;
const thrift = require('thrift') as Any;
const Int64 = require('node-int64') as Any;
const gen = path.join(projectRoot(), 'clients', 'hbase', 'gen');
const Service = require(path.join(gen, 'THBaseService.js')) as Any;
const T = require(path.join(gen, 'hbase_types.js')) as Any;

function libraryMessage(seqid: number, send: (client: Any) => void): Buffer {
  let out = Buffer.alloc(0);
  const transport = new thrift.TBufferedTransport(undefined, (b: Buffer) => {
    out = Buffer.concat([out, b]);
  });
  const client = new Service.Client(transport, thrift.TBinaryProtocol);
  client._seqid = seqid;
  send(client);
  return out;
}

const table = Buffer.from('towerflow:history');
const rows: PutRow[] = [
  { row: 'a|user-1|0001', cells: { 'e:j': '{"event_id":"e1","ts":1700000000000}' }, ts: 1_700_000_000_000 },
  { row: Buffer.from([0, 255, 7, 128]), cells: { 'e:j': Buffer.from([1, 2, 3]), 'f:q2': 'ünïcödé ✓' } },
  { row: 'b', cells: {}, ts: -1 },
  { row: 'c', cells: { 'e:j': '' }, ts: 2 ** 40 + 12345 },
];

describe('hand-written Thrift encoding (clients/hbase/wire.ts)', () => {
  it('putMultiple: byte for byte what the generated stubs write', () => {
    const ref = libraryMessage(41, (c) =>
      c.send_putMultiple(
        table,
        rows.map(
          (r) =>
            new T.TPut({
              row: Buffer.isBuffer(r.row) ? r.row : Buffer.from(r.row),
              columnValues: Object.entries(r.cells).map(([col, v]) => {
                const [family, qualifier] = col.split(':') as [string, string];
                return new T.TColumnValue({
                  family: Buffer.from(family),
                  qualifier: Buffer.from(qualifier),
                  value: Buffer.isBuffer(v) ? v : Buffer.from(v),
                });
              }),
              timestamp: r.ts === undefined ? undefined : new Int64(r.ts),
            }),
        ),
      ),
    );
    expect(ref.length).toBeGreaterThan(100);
    expect(encodePutMultiple(41, table, rows).equals(ref)).toBe(true);
  });

  it('existsAll: byte for byte what the generated stubs write, an empty list included', () => {
    const keys = ['a|user-1|0001', Buffer.from([9, 0, 9]), 'ü'];
    for (const list of [keys, []]) {
      const ref = libraryMessage(7, (c) =>
        c.send_existsAll(
          table,
          list.map((k) => new T.TGet({ row: Buffer.isBuffer(k) ? k : Buffer.from(k) })),
        ),
      );
      expect(encodeExistsAll(7, table, list).equals(ref)).toBe(true);
    }
  });

  it('refuses a column without a family', () => {
    expect(() => encodePutMultiple(1, table, [{ row: 'r', cells: { nofamily: 'v' } }])).toThrow(
      /family:qualifier/,
    );
  });
});
