import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  ColumnWriteEncoder,
  type SchemaField,
  type WriteRow,
} from '../../../../clients/milvus/columnWrite.js';

// The SDK's own protobuf schema (unchanged: packed `repeated float` vectors) decodes what the
// column encoder wrote, so the bytes are the message Milvus expects.
const require = createRequire(import.meta.url);
const sdkRoot = protobuf.Root.fromJSON(
  require('@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.base.js').default,
);
const schema: SchemaField[] = [
  { name: 'item_id', data_type: 'VarChar' },
  { name: 'vector', data_type: 'FloatVector', dim: '3' },
  { name: 'n', data_type: 'Int64' },
  { name: 'price', data_type: 'Double' },
  { name: 'ok', data_type: 'Bool' },
];
const rows = [
  { item_id: 'a', vector: [0.1, -2, 3.5], n: 2 ** 40, price: 0.25, ok: true },
  { item_id: 'b', vector: Float32Array.of(1e-7, 0, -1), n: -3, price: -1e300, ok: false },
];

describe('column-encoded Milvus writes', () => {
  it('encodes an InsertRequest the SDK schema decodes to the same columns', () => {
    const bytes = new ColumnWriteEncoder(sdkRoot).encode('insert', 'c1', schema, rows);
    const msg = sdkRoot
      .lookupType('milvus.proto.milvus.InsertRequest')
      .toObject(sdkRoot.lookupType('milvus.proto.milvus.InsertRequest').decode(bytes), { longs: Number });
    expect(msg.collectionName).toBe('c1');
    expect(msg.numRows).toBe(2);
    const [ids, vec, n, price, ok] = msg.fieldsData;
    expect(ids.fieldName).toBe('item_id');
    expect(ids.scalars.stringData.data).toEqual(['a', 'b']);
    expect(vec.type).toBe(101);
    expect(Number(vec.vectors.dim)).toBe(3);
    expect(vec.vectors.floatVector.data).toEqual([...Float32Array.of(0.1, -2, 3.5, 1e-7, 0, -1)]);
    expect(n.scalars.longData.data).toEqual([2 ** 40, -3]);
    expect(price.scalars.doubleData.data).toEqual([0.25, -1e300]);
    expect(ok.scalars.boolData.data).toEqual([true, false]);
  });

  it('skips an auto-id key on insert but writes it on upsert', () => {
    const auto: SchemaField[] = [{ name: 'id', data_type: 'Int64', autoID: true }, schema[1] as SchemaField];
    const enc = new ColumnWriteEncoder(sdkRoot);
    const decode = (kind: 'insert' | 'upsert', bytes: Uint8Array) => {
      const t = sdkRoot.lookupType(`milvus.proto.milvus.${kind === 'insert' ? 'Insert' : 'Upsert'}Request`);
      return t.toObject(t.decode(bytes)).fieldsData.map((f: { fieldName: string }) => f.fieldName);
    };
    const r = [{ id: 1, vector: [1, 2, 3] }];
    expect(decode('insert', enc.encode('insert', 'c', auto, r))).toEqual(['vector']);
    expect(decode('upsert', enc.encode('upsert', 'c', auto, r))).toEqual(['id', 'vector']);
  });

  it('names the row and field of a bad value, and refuses unsupported types', () => {
    const enc = new ColumnWriteEncoder(sdkRoot);
    expect(() => enc.encode('insert', 'c', schema, [{ ...(rows[0] as WriteRow), vector: [1, 2] }])).toThrow(
      'row 0: field vector must be 3 numbers',
    );
    expect(() =>
      enc.encode('insert', 'c', schema, [rows[0] as WriteRow, { ...rows[1], item_id: 7 }]),
    ).toThrow('row 1: field item_id must be of type VarChar');
    expect(() => enc.encode('insert', 'c', schema, [{ ...rows[0], n: undefined }])).toThrow(
      'row 0: field n must be of type Int64',
    );
    expect(() => enc.encode('insert', 'c', [{ name: 'j', data_type: 'JSON' }], [{ j: {} }])).toThrow(
      'field j: type JSON is not supported',
    );
  });
});
