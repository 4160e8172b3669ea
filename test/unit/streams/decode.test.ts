import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../clients/kafka/consumer.js';
import { CONTRACTS, decodeRecord } from '../../../streams/decode.js';

const record = (value: Buffer | string | null): ConsumedRecord => ({
  topic: 'behaviour.events',
  partition: 0,
  offset: '7',
  key: 'u1',
  value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
  timestamp: '0',
  headers: {},
});

const behaviour = { event_id: 'e1', user_id: 'u1', item_id: 'i1', type: 'view', ts: 1_700_000_000_000 };

function reasonOf(r: ReturnType<typeof decodeRecord>): string {
  if (r.ok) throw new Error('expected a failure');
  return r.reason;
}

const kindOf = (r: ReturnType<typeof decodeRecord>): string => (r.ok ? 'ok' : r.kind);

describe('decodeRecord', () => {
  it('names each failure with a bounded kind for the DLQ metric', () => {
    expect(kindOf(decodeRecord('behaviour', record(null)))).toBe('empty');
    expect(kindOf(decodeRecord('behaviour', record('{"event_id": ')))).toBe('not_json');
    expect(kindOf(decodeRecord('behaviour', record('{"event_id": "x"}')))).toBe('invalid');
    expect(kindOf(decodeRecord('dlq' as never, record('{}')))).toBe('no_contract');
    expect(kindOf(decodeRecord('behaviour', record(JSON.stringify(behaviour))))).toBe('ok');
  });

  it('maps each event topic to its contract', () => {
    expect(Object.keys(CONTRACTS).sort()).toEqual(['behaviour', 'exposures', 'items', 'users']);
    expect(CONTRACTS.behaviour.name).toBe('behaviour event');
    expect(CONTRACTS.items.name).toBe('item event');
    expect(CONTRACTS.users.name).toBe('user profile event');
    expect(CONTRACTS.exposures.name).toBe('exposure');
  });

  it('decodes a valid behaviour event with v filled in', () => {
    expect(decodeRecord('behaviour', record(JSON.stringify(behaviour)))).toEqual({
      ok: true,
      value: { ...behaviour, v: 1 },
    });
  });

  it('decodes valid item and user events', () => {
    const item = { event_id: 'e2', op: 'remove', item_id: 'i1', ts: 1 };
    const user = { event_id: 'e3', user_id: 'u1', ts: 1, profile: { age: '25' } };
    expect(decodeRecord('items', record(JSON.stringify(item)))).toEqual({
      ok: true,
      value: { ...item, v: 1 },
    });
    expect(decodeRecord('users', record(JSON.stringify(user)))).toEqual({
      ok: true,
      value: { ...user, v: 1 },
    });
  });

  it('rejects an empty or missing value', () => {
    expect(reasonOf(decodeRecord('behaviour', record(null)))).toBe('empty record value');
    expect(reasonOf(decodeRecord('behaviour', record(Buffer.alloc(0))))).toBe('empty record value');
  });

  it('rejects a value that is not JSON, saying so', () => {
    const reason = reasonOf(decodeRecord('behaviour', record('{"event_id": ')));
    expect(reason).toMatch(/^not JSON: /);
    expect(reason.length).toBeGreaterThan('not JSON: '.length);
  });

  it('names the contract and every bad field of an invalid event', () => {
    const reason = reasonOf(
      decodeRecord('behaviour', record(JSON.stringify({ ...behaviour, ts: -1, context: { device: 5 } }))),
    );
    expect(reason).toMatch(/^invalid behaviour event: /);
    expect(reason).toContain('ts: ');
    expect(reason).toContain('context.device: Expected string');
  });

  it('validates with the topic’s own contract', () => {
    // a valid behaviour event is not an item event
    const reason = reasonOf(decodeRecord('items', record(JSON.stringify(behaviour))));
    expect(reason).toMatch(/^invalid item event: /);
    expect(reason).toContain('op: ');
    expect(reason).toContain('user_id: Unexpected property');
  });

  it('describes a JSON value that is not an object', () => {
    expect(reasonOf(decodeRecord('users', record('null')))).toBe(
      'invalid user profile event: (value): Expected object',
    );
  });

  it('refuses a topic without a contract', () => {
    expect(reasonOf(decodeRecord('dlq', record(JSON.stringify(behaviour))))).toBe(
      'no contract for topic role dlq',
    );
  });
});
