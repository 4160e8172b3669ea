import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { SearchCodec, type SearchSpec } from '../../../../clients/milvus/searchCodec.js';

// The SDK's own protobuf schema (unchanged) reads the requests the codec writes, and writes the
// answers the codec reads: both sides are the messages Milvus exchanges.
const require = createRequire(import.meta.url);
const sdkRoot = protobuf.Root.fromJSON(
  require('@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.base.js').default,
);
const Request = sdkRoot.lookupType('milvus.proto.milvus.SearchRequest');
const Group = sdkRoot.lookupType('milvus.proto.common.PlaceholderGroup');
const Results = sdkRoot.lookupType('milvus.proto.milvus.SearchResults');

const spec: SearchSpec = {
  collection: 'items_v1',
  vectorField: 'vector',
  pkField: 'item_id',
  vectors: [[0.5, -1, 2], Float32Array.of(0, 1e-7, -3)],
  dim: 3,
  limit: 7,
  metric: 'IP',
  params: { ef: 64 },
  filter: 'category == "a"',
  consistency: 'Bounded',
};

describe('pre-encoded Milvus searches', () => {
  it('encodes a SearchRequest the SDK schema decodes field by field', () => {
    const msg = Request.toObject(Request.decode(new SearchCodec(sdkRoot).encode(spec)), {
      longs: Number,
      enums: Number,
    });
    expect(msg.collectionName).toBe('items_v1');
    expect(msg.dsl).toBe('category == "a"');
    expect(msg.dslType).toBe(1);
    expect(msg.nq).toBe(2);
    expect(msg.outputFields).toEqual(['item_id']);
    expect(msg.consistencyLevel).toBe(2);
    expect(msg.useDefaultConsistency ?? false).toBe(false);
    const params = Object.fromEntries(
      msg.searchParams.map((p: { key: string; value: string }) => [p.key, p.value]),
    );
    expect(params).toMatchObject({
      anns_field: 'vector',
      topk: '7',
      metric_type: 'IP',
      params: '{"ef":64}',
      ef: '64',
    });
    const group = Group.toObject(Group.decode(msg.placeholderGroup), { enums: Number });
    expect(group.placeholders).toHaveLength(1);
    expect(group.placeholders[0].tag).toBe('$0');
    expect(group.placeholders[0].type).toBe(101);
    const floats = group.placeholders[0].values.map((b: Uint8Array) => [
      ...new Float32Array(Uint8Array.from(b).buffer),
    ]);
    expect(floats).toEqual([[...Float32Array.of(0.5, -1, 2)], [...Float32Array.of(0, 1e-7, -3)]]);
  });

  it('leaves consistency to the collection when none is asked', () => {
    const { consistency: _c, ...rest } = spec;
    const msg = Request.toObject(Request.decode(new SearchCodec(sdkRoot).encode(rest)), { enums: Number });
    expect(msg.useDefaultConsistency).toBe(true);
  });

  it('rejects query vectors of the wrong size or with non-finite numbers', () => {
    const codec = new SearchCodec(sdkRoot);
    expect(() => codec.encode({ ...spec, vectors: [[1, 2]] })).toThrow(
      /query vector 0 has 2 numbers, the collection 3/,
    );
    expect(() =>
      codec.encode({
        ...spec,
        vectors: [
          [1, 2, 3],
          [1, Number.NaN, 3],
        ],
      }),
    ).toThrow(/query vector 1 holds a non-finite number/);
    expect(() => codec.encode({ ...spec, vectors: [] })).toThrow(/no query vectors/);
  });

  const answer = (results: Record<string, unknown>, status: Record<string, unknown> = {}) =>
    Results.encode(Results.fromObject({ status, results })).finish();

  it('reads hit lists per query from ids, topks and scores', () => {
    const bytes = answer({
      numQueries: 2,
      topK: 3,
      scores: [0.9, 0.5, 0.25, 0.75],
      ids: { strId: { data: ['a', 'b', 'c', 'd'] } },
      topks: [3, 1],
    });
    const out = new SearchCodec(sdkRoot).decode(bytes, 2, 'item_id');
    expect(out.status).toEqual({ error_code: 0, code: 0, reason: '' });
    expect(out.hits).toEqual([
      [
        { id: 'a', score: 0.8999999761581421 },
        { id: 'b', score: 0.5 },
        { id: 'c', score: 0.25 },
      ],
      [{ id: 'd', score: 0.75 }],
    ]);
  });

  it('falls back to the primary-key column when the answer carries no ids (milvus-lite)', () => {
    const bytes = answer({
      scores: [1, 0.5],
      fieldsData: [{ fieldName: 'item_id', scalars: { stringData: { data: ['x', 'y'] } } }],
      topks: [2],
    });
    expect(new SearchCodec(sdkRoot).decode(bytes, 1, 'item_id').hits).toEqual([
      [
        { id: 'x', score: 1 },
        { id: 'y', score: 0.5 },
      ],
    ]);
  });

  it('reads an answer without hits as empty lists', () => {
    expect(new SearchCodec(sdkRoot).decode(answer({ numQueries: 2, topK: 5 }), 2, 'item_id').hits).toEqual([
      [],
      [],
    ]);
  });

  it('passes a failed status on and refuses answers whose parts disagree', () => {
    const codec = new SearchCodec(sdkRoot);
    const failed = codec.decode(answer({}, { errorCode: 1, reason: 'collection not loaded' }), 1, 'item_id');
    expect(failed.status).toMatchObject({ error_code: 1, reason: 'collection not loaded' });
    expect(failed.hits).toEqual([[]]);
    expect(() =>
      codec.decode(answer({ scores: [1, 0.5], ids: { strId: { data: ['x'] } }, topks: [2] }), 1, 'item_id'),
    ).toThrow(/2 scores but 1 ids/);
    expect(() =>
      codec.decode(answer({ scores: [1], ids: { strId: { data: ['x'] } }, topks: [1] }), 2, 'item_id'),
    ).toThrow(/1 lists for 2 queries/);
  });
});
