import { describe, expect, it } from 'vitest';
import {
  behaviourContract,
  describeErrors,
  ID_PATTERN,
  itemContract,
  SCHEMA_VERSION,
  userContract,
  validateBatch,
} from '../../../schemas/index.js';

const MAX_TS = 4_102_444_800_000;

const behaviour = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: 'e-1',
  user_id: 'u1',
  item_id: 'i1',
  type: 'view',
  ts: 1_700_000_000_000,
  ...over,
});

const item = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: 'ie-1',
  op: 'upsert',
  item_id: 'i1',
  ts: 1_700_000_000_000,
  features: { genres: ['Comedy', 'Drama'], title: 'Heat', year: 1995, adult: false },
  ...over,
});

const user = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: 'ue-1',
  user_id: 'u1',
  ts: 1_700_000_000_000,
  profile: { gender: 'F', age: '25' },
  ...over,
});

/** The fields named by a failed validation (fails the test when validation passed). */
function badFields(r: { ok: true } | { ok: false; errors: { field: string }[] }): string[] {
  if (r.ok) throw new Error('expected the value to be rejected');
  return r.errors.map((e) => e.field);
}

function messageOf(r: { ok: boolean; errors?: { field: string; message: string }[] }, field: string): string {
  const e = r.errors?.find((x) => x.field === field);
  if (!e) throw new Error(`no error for field ${JSON.stringify(field)}: ${JSON.stringify(r)}`);
  return e.message;
}

describe('behaviourContract.validate', () => {
  it('accepts a valid event and fills in v: 1', () => {
    const r = behaviourContract.validate(behaviour());
    expect(SCHEMA_VERSION).toBe(1);
    expect(r).toEqual({ ok: true, value: { ...behaviour(), v: 1 } });
  });

  it('keeps an explicit v: 1 and the optional value and context', () => {
    const e = behaviour({ v: 1, value: 4.5, context: { device: 'ios', page: 'home' } });
    const r = behaviourContract.validate(e);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toEqual(e);
  });

  it('rejects any other schema version', () => {
    expect(badFields(behaviourContract.validate(behaviour({ v: 2 })))).toEqual(['v']);
  });

  it('names every bad field, once each', () => {
    const r = behaviourContract.validate(behaviour({ user_id: 'a b', type: 'View', ts: 1.5 }));
    expect(badFields(r).sort()).toEqual(['ts', 'type', 'user_id']);
  });

  it('names every missing required field', () => {
    const r = behaviourContract.validate({ event_id: 'e' });
    expect(badFields(r).sort()).toEqual(['item_id', 'ts', 'type', 'user_id']);
  });

  it('names nested fields with a dotted path', () => {
    const r = behaviourContract.validate(behaviour({ context: { device: 5 } }));
    expect(badFields(r)).toEqual(['context.device']);
  });

  it('rejects context keys that are not lowercase words', () => {
    expect(badFields(behaviourContract.validate(behaviour({ context: { Device: 'x' } })))).toEqual([
      'context.Device',
    ]);
  });

  it('rejects context values longer than 256 chars', () => {
    expect(badFields(behaviourContract.validate(behaviour({ context: { page: 'p'.repeat(257) } })))).toEqual([
      'context.page',
    ]);
    expect(behaviourContract.validate(behaviour({ context: { page: 'p'.repeat(256) } })).ok).toBe(true);
  });

  it('rejects unknown properties', () => {
    const r = behaviourContract.validate(behaviour({ extra: 1 }));
    expect(badFields(r)).toEqual(['extra']);
  });

  it('reports a non-object as an error of the whole value', () => {
    for (const v of [null, 'x', 42, [behaviour()]])
      expect(badFields(behaviourContract.validate(v))).toEqual(['']);
  });

  it.each([0, 1, 1_700_000_000_000, MAX_TS])('accepts ts %d', (ts) => {
    expect(behaviourContract.validate(behaviour({ ts })).ok).toBe(true);
  });

  it.each([-1, MAX_TS + 1, 1.5, Number.NaN, '1700000000000', null])('rejects ts %j', (ts) => {
    expect(badFields(behaviourContract.validate(behaviour({ ts })))).toEqual(['ts']);
  });

  it.each(['u', 'User_1', 'a.b@c+d=e-f', 'x'.repeat(128)])('accepts id %j', (id) => {
    expect(ID_PATTERN.test(id)).toBe(true);
    expect(behaviourContract.validate(behaviour({ user_id: id, item_id: id, event_id: id })).ok).toBe(true);
  });

  it.each(['', 'a b', ' a', 'a:b', 'a|b', 'a\tb', 'é', 'a/b', 'x'.repeat(129)])('rejects id %j', (id) => {
    expect(
      badFields(behaviourContract.validate(behaviour({ user_id: id, item_id: id, event_id: id }))).sort(),
    ).toEqual(['event_id', 'item_id', 'user_id']);
  });

  it.each(['view', 'add_to_cart', 'r2', 'a'.repeat(32)])('accepts type %j', (type) => {
    expect(behaviourContract.validate(behaviour({ type })).ok).toBe(true);
  });

  it.each(['View', '2view', '_view', 'add-to-cart', 'add to cart', '', 'a'.repeat(33)])(
    'rejects type %j',
    (type) => {
      expect(badFields(behaviourContract.validate(behaviour({ type })))).toEqual(['type']);
    },
  );

  it('rejects a non-numeric or NaN value', () => {
    expect(badFields(behaviourContract.validate(behaviour({ value: '5' })))).toEqual(['value']);
    expect(badFields(behaviourContract.validate(behaviour({ value: Number.NaN })))).toEqual(['value']);
  });

  it('keys by user id', () => {
    const r = behaviourContract.validate(behaviour({ user_id: 'u-7' }));
    if (!r.ok) throw new Error('expected valid');
    expect(behaviourContract.key(r.value)).toBe('u-7');
  });
});

describe('itemContract.validate', () => {
  it('accepts an upsert with features and fills in v', () => {
    const r = itemContract.validate(item());
    expect(r).toEqual({ ok: true, value: { ...item(), v: 1 } });
  });

  it('accepts a remove without features', () => {
    const { features: _, ...remove } = item({ op: 'remove' });
    expect(itemContract.validate(remove).ok).toBe(true);
  });

  it('requires features on upsert', () => {
    const { features: _, ...upsert } = item();
    const r = itemContract.validate(upsert);
    expect(badFields(r)).toEqual(['features']);
    expect(messageOf(r, 'features')).toMatch(/required/i);
    expect(messageOf(r, 'features')).toContain('upsert');
  });

  it('forbids features on remove', () => {
    const r = itemContract.validate(item({ op: 'remove', features: {} }));
    expect(badFields(r)).toEqual(['features']);
    expect(messageOf(r, 'features')).toMatch(/not allowed/i);
    expect(messageOf(r, 'features')).toContain('remove');
  });

  it('lists the accepted alternatives of a union of literals', () => {
    const r = itemContract.validate(item({ op: 'delete' }));
    expect(badFields(r)).toEqual(['op']);
    expect(messageOf(r, 'op')).toBe('Expected one of: "upsert", "remove"');
  });

  it('lists the accepted kinds of a feature value', () => {
    const r = itemContract.validate(item({ features: { genres: { nested: true } } }));
    expect(badFields(r)).toEqual(['features.genres']);
    expect(messageOf(r, 'features.genres')).toBe('Expected one of: string, number, boolean, array of string');
  });

  it('rejects feature names that are not lowercase words', () => {
    expect(badFields(itemContract.validate(item({ features: { Genres: ['x'] } })))).toEqual([
      'features.Genres',
    ]);
  });

  it('bounds feature sizes', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, i]));
    const sixtyFour = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`f${i}`, i]));
    expect(itemContract.validate(item({ features: sixtyFour })).ok).toBe(true);
    expect(badFields(itemContract.validate(item({ features: tooMany })))).toEqual(['features']);
    expect(itemContract.validate(item({ features: { title: 't'.repeat(1024) } })).ok).toBe(true);
    expect(badFields(itemContract.validate(item({ features: { title: 't'.repeat(1025) } })))).toEqual([
      'features.title',
    ]);
    expect(badFields(itemContract.validate(item({ features: { tags: ['t'.repeat(257)] } })))).toEqual([
      'features.tags',
    ]);
    const manyTags = Array.from({ length: 65 }, (_, i) => `t${i}`);
    expect(badFields(itemContract.validate(item({ features: { tags: manyTags } })))).toEqual([
      'features.tags',
    ]);
  });

  it('rejects unknown properties and bad ids', () => {
    expect(badFields(itemContract.validate(item({ owner: 'x' })))).toEqual(['owner']);
    expect(badFields(itemContract.validate(item({ item_id: 'i:1' })))).toEqual(['item_id']);
  });

  it('keys by item id', () => {
    const r = itemContract.validate(item({ item_id: 'i-9' }));
    if (!r.ok) throw new Error('expected valid');
    expect(itemContract.key(r.value)).toBe('i-9');
  });
});

describe('userContract.validate', () => {
  it('accepts a profile and fills in v', () => {
    expect(userContract.validate(user())).toEqual({ ok: true, value: { ...user(), v: 1 } });
  });

  it('requires the profile', () => {
    const { profile: _, ...bare } = user();
    expect(badFields(userContract.validate(bare))).toEqual(['profile']);
  });

  it('names bad profile attributes with a dotted path', () => {
    expect(badFields(userContract.validate(user({ profile: { Age: '3' } })))).toEqual(['profile.Age']);
    expect(badFields(userContract.validate(user({ profile: { age: null } })))).toEqual(['profile.age']);
  });

  it('rejects unknown properties, bad ids and bad ts', () => {
    const r = userContract.validate(user({ item_id: 'i1', user_id: 'a|b', ts: -5 }));
    expect(badFields(r).sort()).toEqual(['item_id', 'ts', 'user_id']);
  });

  it('keys by user id', () => {
    const r = userContract.validate(user({ user_id: 'u-3' }));
    if (!r.ok) throw new Error('expected valid');
    expect(userContract.key(r.value)).toBe('u-3');
  });
});

describe('validateBatch', () => {
  it('returns every value, with v filled in, when all are valid', () => {
    const r = validateBatch(behaviourContract, [behaviour(), behaviour({ event_id: 'e-2' })]);
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.values.map((v) => [v.event_id, v.v])).toEqual([
        ['e-1', 1],
        ['e-2', 1],
      ]);
  });

  it('returns only errors, each with the index of its element, when any is invalid', () => {
    const r = validateBatch(behaviourContract, [
      behaviour(),
      behaviour({ ts: -1 }),
      behaviour(),
      behaviour({ user_id: 'a b', type: 'X' }),
    ]);
    expect(r.ok).toBe(false);
    expect('values' in r).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.index, e.field]).sort()).toEqual([
      [1, 'ts'],
      [3, 'type'],
      [3, 'user_id'],
    ]);
    // each message says what the value broke
    expect(r.errors.map((e) => [e.field, e.message]).sort()).toEqual([
      ['ts', expect.stringMatching(/greater or equal to 0/)],
      ['type', expect.stringMatching(/match/)],
      ['user_id', expect.stringMatching(/match/)],
    ]);
  });

  it('stops collecting after maxErrors', () => {
    const values = Array.from({ length: 10 }, () => behaviour({ ts: -1 }));
    const r = validateBatch(behaviourContract, values, 3);
    if (r.ok) throw new Error('expected invalid');
    expect(r.errors.map((e) => e.index)).toEqual([0, 1, 2]);
  });

  it('accepts an empty batch', () => {
    expect(validateBatch(itemContract, [])).toEqual({ ok: true, values: [] });
  });
});

describe('describeErrors', () => {
  it('joins `field: message` and names the whole value "(value)"', () => {
    expect(
      describeErrors([
        { field: '', message: 'Expected object' },
        { field: 'context.device', message: 'Expected string' },
      ]),
    ).toBe('(value): Expected object; context.device: Expected string');
  });

  it('is empty for no errors', () => {
    expect(describeErrors([])).toBe('');
  });

  it('describes a real validation failure', () => {
    const r = behaviourContract.validate(behaviour({ context: { device: 5 } }));
    if (r.ok) throw new Error('expected invalid');
    expect(describeErrors(r.errors)).toBe('context.device: Expected string');
  });
});
