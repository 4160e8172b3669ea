// Insert/upsert requests encoded column by column, the float vectors as one run of bytes.
//
// The SDK turns rows into columns generically (`Array.prototype.flat` over every vector, a
// spread per row) and protobufjs then converts and writes each float on its own: profiled, the
// client was busy 5.3 s of an insert's 6.7 s (100k rows), so it bounded the daily job's insert
// rate (docs/decisions.md, "Column-encoded inserts"). A copy of the SDK's protobuf schema whose
// FloatArray carries bytes (protoCopy.ts) encodes the same message with one copy.

import type protobuf from 'protobufjs';
import { withFloatsAsBytes } from './protoCopy.js';

/** A field of the collection's schema as the SDK's describeCollection reports it. */
export interface SchemaField {
  name: string;
  data_type: string;
  dim?: number | string;
  autoID?: boolean;
  is_function_output?: boolean;
}

export type WriteKind = 'insert' | 'upsert';

export interface WriteRow {
  [field: string]: unknown;
}

// milvus.proto.schema.DataType numbers (the wire values of the enum)
const DATA_TYPE: Record<string, number> = {
  Bool: 1,
  Int8: 2,
  Int16: 3,
  Int32: 4,
  Int64: 5,
  Float: 10,
  Double: 11,
  VarChar: 21,
  FloatVector: 101,
};

const SCALAR_KEY: Record<string, { key: string; check: (v: unknown) => boolean }> = {
  Bool: { key: 'boolData', check: (v) => typeof v === 'boolean' },
  Int8: { key: 'intData', check: Number.isInteger },
  Int16: { key: 'intData', check: Number.isInteger },
  Int32: { key: 'intData', check: Number.isInteger },
  Int64: { key: 'longData', check: Number.isSafeInteger },
  Float: { key: 'floatData', check: Number.isFinite },
  Double: { key: 'doubleData', check: Number.isFinite },
  VarChar: { key: 'stringData', check: (v) => typeof v === 'string' },
};

export class ColumnWriteError extends Error {
  override name = 'ColumnWriteError';
}

export class ColumnWriteEncoder {
  private readonly types: Record<WriteKind, protobuf.Type>;

  /** `sdkRoot`: the SDK's protobuf root holding milvus.proto.milvus.*; it is copied, not changed. */
  constructor(sdkRoot: protobuf.Root) {
    const root = withFloatsAsBytes(sdkRoot, 'milvus.proto.schema.FloatArray', 'data', 1);
    if (!root)
      throw new ColumnWriteError(
        'unexpected milvus.proto.schema.FloatArray in the SDK: cannot encode vectors as bytes',
      );
    this.types = {
      insert: root.lookupType('milvus.proto.milvus.InsertRequest'),
      upsert: root.lookupType('milvus.proto.milvus.UpsertRequest'),
    };
  }

  /** One encoded request; every row must carry every written field of the schema. */
  encode(kind: WriteKind, collection: string, schema: SchemaField[], rows: readonly WriteRow[]): Uint8Array {
    const written = schema.filter((f) => !f.is_function_output && !(kind === 'insert' && f.autoID));
    const fieldsData = written.map((f) => this.column(f, rows));
    return this.types[kind].encode({ collectionName: collection, fieldsData, numRows: rows.length }).finish();
  }

  private column(field: SchemaField, rows: readonly WriteRow[]): Record<string, unknown> {
    const type = DATA_TYPE[field.data_type];
    if (type === undefined)
      throw new ColumnWriteError(
        `field ${field.name}: type ${field.data_type} is not supported by column writes`,
      );
    if (field.data_type === 'FloatVector') {
      const dim = Number(field.dim);
      const bytes = new Uint8Array(rows.length * dim * 4);
      const view = new DataView(bytes.buffer);
      rows.forEach((row, i) => {
        const v = row[field.name] as ArrayLike<number> | undefined;
        if (!v || typeof v !== 'object' || v.length !== dim)
          throw new ColumnWriteError(`row ${i}: field ${field.name} must be ${dim} numbers`);
        for (let d = 0, at = i * dim * 4; d < dim; d++, at += 4) view.setFloat32(at, v[d] as number, true);
      });
      return { type, fieldName: field.name, vectors: { dim, floatVector: { data: bytes } } };
    }
    const { key, check } = SCALAR_KEY[field.data_type] as { key: string; check: (v: unknown) => boolean };
    const values = rows.map((row, i) => {
      const v = row[field.name];
      if (!check(v))
        throw new ColumnWriteError(`row ${i}: field ${field.name} must be of type ${field.data_type}`);
      return v;
    });
    return { type, fieldName: field.name, scalars: { [key]: { data: values } } };
  }
}
