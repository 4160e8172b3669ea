import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recallOpenApi } from '../../../serving/openapi.js';
import { parseRecallQuery, RECALL_PARAMS } from '../../../serving/query.js';
import { checkConditions } from '../../../stores/vectors/filter.js';
import { ITEM_SCALARS } from '../../../stores/vectors/item-fields.js';

const limits = { maxK: 500, defaultBeta: 0 };
const fieldsOf = (q: Record<string, unknown>) => {
  const r = parseRecallQuery(q, limits);
  return r.ok ? [] : r.errors.map((e) => e.field);
};

describe('parseRecallQuery', () => {
  it('takes a plain request with defaults', () => {
    const r = parseRecallQuery({ user_id: 'u1' }, { maxK: 500, defaultBeta: 0.25 });
    expect(r).toEqual({
      ok: true,
      req: { userId: 'u1', k: 50, conditions: [], popularityBeta: 0.25, excludeSeen: true },
    });
  });

  it('exclude_seen: true by default, false turns it off, anything else is refused by name', () => {
    const ex = (v: string) => {
      const r = parseRecallQuery({ user_id: 'u', exclude_seen: v }, limits);
      return r.ok ? r.req.excludeSeen : undefined;
    };
    expect(ex('true')).toBe(true);
    expect(ex('false')).toBe(false);
    for (const v of ['0', 'no', 'FALSE', ''])
      expect(fieldsOf({ user_id: 'u', exclude_seen: v })).toEqual(['exclude_seen']);
  });

  it('bounds k and names it', () => {
    for (const k of ['0', '501', '-1', '1.5', 'ten', '', '9999999'])
      expect(fieldsOf({ user_id: 'u', k })).toEqual(['k']);
    expect(fieldsOf({ user_id: 'u', k: '500' })).toEqual([]);
  });

  it('requires a valid user_id', () => {
    expect(fieldsOf({})).toEqual(['user_id']);
    for (const user_id of ['', 'a b', 'x"y', "u' || true", 'u\n1', 'a'.repeat(200)])
      expect(fieldsOf({ user_id })).toEqual(['user_id']);
  });

  it('refuses repeated and unknown parameters', () => {
    expect(fieldsOf({ user_id: ['a', 'b'] })).toEqual(['user_id']);
    expect(fieldsOf({ user_id: 'u', filter: 'id > 0' })).toEqual(['filter']);
  });

  it('turns expression injection attempts in filters into 400s naming the parameter', () => {
    const attacks = [
      '" or 1==1 or category == "',
      "Comedy') or (1==1",
      'Comedy"]||item_id!=[""',
      'a\\" or true',
      'x`',
      'Drama;drop',
      '$(x)',
      'a\u0000b',
      'Comedy" ',
    ];
    for (const a of attacks) {
      expect(fieldsOf({ user_id: 'u', category: a })).toEqual(['category']);
      expect(fieldsOf({ user_id: 'u', exclude_category: `Drama,${a}` })).toEqual(['exclude_category']);
    }
    for (const t of ['1 or 1', '-5', '1e9', '0x10', '1700000000000.5'])
      expect(fieldsOf({ user_id: 'u', published_after: t })).toEqual(['published_after']);
  });

  it('accepted filters become conditions on whitelisted fields that the vectors store takes', () => {
    const r = parseRecallQuery(
      { user_id: 'u', category: "Children's,Sci-Fi", published_before: '1700000000000' },
      limits,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(checkConditions(r.req.conditions, ITEM_SCALARS)).toEqual([
      { field: 'category', op: 'in', values: ["Children's", 'Sci-Fi'] },
      { field: 'published_at', op: '<', value: 1700000000000 },
    ]);
  });

  it('takes times up to 2100 (MAX_TIMESTAMP_MS), the maximum its document states', () => {
    for (const name of ['published_after', 'published_before', 'at']) {
      expect(fieldsOf({ user_id: 'u', [name]: '4102444800000' })).toEqual([]);
      expect(fieldsOf({ user_id: 'u', [name]: '4102444800001' })).toEqual([name]);
      expect(fieldsOf({ user_id: 'u', [name]: '999999999999999' })).toEqual([name]);
    }
  });

  it('takes 1 to 64 non-empty categories, as the pattern of its document says', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`).join(',');
    expect(fieldsOf({ user_id: 'u', category: list(64) })).toEqual([]);
    expect(fieldsOf({ user_id: 'u', category: list(65) })).toEqual(['category']);
    for (const c of ['', 'a,', ',a', 'a,,b'])
      expect(fieldsOf({ user_id: 'u', category: c })).toEqual(['category']);
    const pattern = new RegExp(RECALL_PARAMS.category?.schema.pattern as string, 'u');
    expect([list(64), list(65), 'a,', 'a,,b'].map((c) => pattern.test(c))).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('bounds popularity_beta', () => {
    for (const b of ['-1', '11', '10.000001', 'NaN', 'Infinity', '1e2', '0x1', ' 1', '1.', '.5'])
      expect(fieldsOf({ user_id: 'u', popularity_beta: b })).toEqual(['popularity_beta']);
    // every way a client prints a number in the documented range [0, 10] is taken
    const beta = (b: string) => {
      const r = parseRecallQuery({ user_id: 'u', popularity_beta: b }, limits);
      return r.ok ? r.req.popularityBeta : undefined;
    };
    expect(['0.5', '10', '10.0', '1e1', '1e-05', '2.5E+00', '0.1234567', '-0.0'].map(beta)).toEqual([
      0.5, 10, 10, 10, 0.00001, 2.5, 0.1234567, -0,
    ]);
  });
});

describe('recall OpenAPI document', () => {
  it('the committed docs/openapi/recall.json is exactly the generated document', () => {
    const committed = join(import.meta.dirname, '../../../docs/openapi/recall.json');
    expect(readFileSync(committed, 'utf8')).toBe(`${JSON.stringify(recallOpenApi(), null, 2)}\n`);
  });

  it('lists every parameter the parser accepts', () => {
    const doc = recallOpenApi() as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    const names = doc.paths['/v1/recall']?.get?.parameters?.map((p) => p.name);
    expect(names).toEqual(Object.keys(RECALL_PARAMS));
  });
});
