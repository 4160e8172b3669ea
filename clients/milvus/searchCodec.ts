// Search requests and answers encoded and decoded directly with the SDK's protobuf schema.
//
// The SDK's search path builds each request generically (schema lookups, placeholder
// conversion, key-value lists) and turns each answer into row objects through proto-loader and
// its own formatter. A recall request needs none of it: vectors in, (id, score) lists out. A
// private copy of the schema whose `scores` is `bytes` (same wire format as packed floats) reads
// the scores with one copy (docs/decisions.md, "Pre-encoded searches").

import type protobuf from 'protobufjs';
import { withFloatsAsBytes } from './protoCopy.js';

export interface SearchSpec {
  collection: string;
  vectorField: string;
  /** Primary-key field, asked for explicitly: milvus-lite returns no ids otherwise. */
  pkField: string;
  vectors: readonly ArrayLike<number>[];
  dim: number;
  limit: number;
  metric: 'IP' | 'L2' | 'COSINE';
  /** Index search parameters (`ef`, `nprobe`, …). */
  params: Record<string, number>;
  filter?: string;
  consistency?: 'Strong' | 'Session' | 'Bounded' | 'Eventually';
}

export interface SearchHit {
  id: string;
  score: number;
}

export interface DecodedSearch {
  status: { error_code: number; code: number; reason: string };
  /** One list per query vector, best first. */
  hits: SearchHit[][];
}

export class SearchCodecError extends Error {
  override name = 'SearchCodecError';
}

// wire values of milvus.proto.common enums
const CONSISTENCY = { Strong: 0, Session: 1, Bounded: 2, Eventually: 3 } as const;
const DSL_BOOL_EXPR_V1 = 1;
const PLACEHOLDER_FLOAT_VECTOR = 101;

type Long = { toNumber(): number } | number;
const toNumber = (v: Long): number => (typeof v === 'number' ? v : v.toNumber());

export class SearchCodec {
  private readonly request: protobuf.Type;
  private readonly placeholders: protobuf.Type;
  private readonly results: protobuf.Type;

  /** `sdkRoot`: the SDK's protobuf root holding milvus.proto.*; it is copied, not changed. */
  constructor(sdkRoot: protobuf.Root) {
    const root = withFloatsAsBytes(sdkRoot, 'milvus.proto.schema.SearchResultData', 'scores', 4);
    if (!root)
      throw new SearchCodecError(
        'unexpected milvus.proto.schema.SearchResultData in the SDK: cannot read scores',
      );
    this.request = root.lookupType('milvus.proto.milvus.SearchRequest');
    this.placeholders = root.lookupType('milvus.proto.common.PlaceholderGroup');
    this.results = root.lookupType('milvus.proto.milvus.SearchResults');
  }

  encode(spec: SearchSpec): Uint8Array {
    const n = spec.vectors.length;
    if (n === 0) throw new SearchCodecError('no query vectors');
    const values: Buffer[] = [];
    for (const [i, v] of spec.vectors.entries()) {
      if (v.length !== spec.dim)
        throw new SearchCodecError(`query vector ${i} has ${v.length} numbers, the collection ${spec.dim}`);
      const f = new Float32Array(v);
      for (let d = 0; d < f.length; d++)
        if (!Number.isFinite(f[d])) throw new SearchCodecError(`query vector ${i} holds a non-finite number`);
      values.push(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    }
    const placeholderGroup = this.placeholders
      .encode({ placeholders: [{ tag: '$0', type: PLACEHOLDER_FLOAT_VECTOR, values }] })
      .finish();
    const kv = (key: string, value: string | number) => ({ key, value: String(value) });
    return this.request
      .encode({
        collectionName: spec.collection,
        dsl: spec.filter ?? '',
        dslType: DSL_BOOL_EXPR_V1,
        placeholderGroup,
        outputFields: [spec.pkField],
        nq: n,
        searchParams: [
          kv('anns_field', spec.vectorField),
          kv('topk', spec.limit),
          kv('metric_type', spec.metric),
          kv('params', JSON.stringify(spec.params)),
          kv('offset', 0),
          kv('round_decimal', -1),
          kv('ignore_growing', 'false'),
          ...Object.entries(spec.params).map(([k, v]) => kv(k, v)),
        ],
        ...(spec.consistency
          ? { consistencyLevel: CONSISTENCY[spec.consistency], useDefaultConsistency: false }
          : { useDefaultConsistency: true }),
      })
      .finish();
  }

  /** The answer of `nq` queries; ids from `ids`, or from the primary-key column when absent. */
  decode(bytes: Uint8Array, nq: number, pkField: string): DecodedSearch {
    // biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped here
    const msg = this.results.decode(bytes) as any;
    const st = msg.status ?? {};
    const status = { error_code: st.errorCode ?? 0, code: st.code ?? 0, reason: st.reason ?? '' };
    const hits: SearchHit[][] = Array.from({ length: nq }, () => []);
    const r = msg.results;
    if (!r || status.error_code !== 0 || status.code !== 0) return { status, hits };
    // an absent bytes field decodes as protobufjs' default, an empty array
    const raw: Uint8Array = r.scores instanceof Uint8Array ? r.scores : new Uint8Array(0);
    const total = raw.byteLength / 4;
    // nothing found (a filter that matches nothing): some servers send no per-query counts then
    if (total === 0) return { status, hits };
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let ids: (string | Long)[] = r.ids?.strId?.data ?? r.ids?.intId?.data ?? [];
    if (ids.length === 0) {
      const col = (r.fieldsData ?? []).find((f: { fieldName?: string }) => f.fieldName === pkField);
      ids = col?.scalars?.stringData?.data ?? col?.scalars?.longData?.data ?? [];
    }
    if (ids.length !== total)
      throw new SearchCodecError(`search answer holds ${total} scores but ${ids.length} ids`);
    const topks: Long[] = r.topks ?? [];
    if (topks.length !== nq)
      throw new SearchCodecError(`search answer holds ${topks.length} lists for ${nq} queries`);
    let at = 0;
    for (let q = 0; q < nq; q++) {
      const k = toNumber(topks[q] as Long);
      const list = hits[q] as SearchHit[];
      for (let j = 0; j < k; j++, at++) {
        const id = ids[at] as string | Long;
        list.push({
          id: typeof id === 'string' ? id : String(toNumber(id)),
          score: view.getFloat32(at * 4, true),
        });
      }
    }
    if (at !== total) throw new SearchCodecError(`search answer lists hold ${at} hits, scores ${total}`);
    return { status, hits };
  }
}
