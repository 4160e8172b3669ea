import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../clients/kafka/consumer.js';
import { type DeadLetter, deadLetter } from '../../../streams/dlq.js';

const record = (value: Buffer | null, over: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  topic: 'behaviour.events',
  partition: 3,
  offset: '1234',
  key: 'u1',
  value,
  timestamp: '1700000000000',
  headers: {},
  ...over,
});

const letterOf = (m: { value: Buffer | string }): DeadLetter => JSON.parse(String(m.value)) as DeadLetter;

describe('deadLetter', () => {
  it('keeps a UTF-8 payload as text, with its source and reason', () => {
    const before = Date.now();
    const payload = '{"event_id":"é-😀","ts":"x"}';
    const m = deadLetter(
      'history',
      record(Buffer.from(payload, 'utf8')),
      'invalid behaviour event: ts: Expected integer',
    );
    expect(m.key).toBe('behaviour.events:3:1234');
    expect(m.headers).toEqual({
      'x-dlq-reason': 'invalid behaviour event: ts: Expected integer',
      'x-dlq-processor': 'history',
    });
    const letter = letterOf(m);
    expect(letter).toMatchObject({
      reason: 'invalid behaviour event: ts: Expected integer',
      processor: 'history',
      source: {
        topic: 'behaviour.events',
        partition: 3,
        offset: '1234',
        timestamp: '1700000000000',
        key: 'u1',
      },
      payload,
      payload_encoding: 'utf8',
    });
    const at = Date.parse(letter.at);
    expect(letter.at).toBe(new Date(at).toISOString());
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('base64-encodes a payload that is not valid UTF-8', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);
    const letter = letterOf(deadLetter('sequence', record(raw), 'not JSON'));
    expect(letter.payload_encoding).toBe('base64');
    expect(Buffer.from(letter.payload, 'base64').equals(raw)).toBe(true);
  });

  it('base64-encodes a truncated multi-byte character', () => {
    const raw = Buffer.from('ab😀', 'utf8').subarray(0, 4);
    const letter = letterOf(deadLetter('sequence', record(raw), 'x'));
    expect(letter.payload_encoding).toBe('base64');
    expect(letter.payload).toBe(raw.toString('base64'));
  });

  it('carries an empty or missing value as empty text', () => {
    for (const value of [null, Buffer.alloc(0)]) {
      const letter = letterOf(deadLetter('history', record(value, { key: null }), 'empty record value'));
      expect(letter.payload).toBe('');
      expect(letter.payload_encoding).toBe('utf8');
      expect(letter.source.key).toBeNull();
    }
  });

  it('keys by source position, the same for every processor', () => {
    const r = record(Buffer.from('x'), { topic: 'p.item.events', partition: 0, offset: '9007199254740993' });
    const a = deadLetter('items', r, 'a');
    const b = deadLetter('history', r, 'b');
    expect(a.key).toBe('p.item.events:0:9007199254740993');
    expect(b.key).toBe(a.key);
    expect(letterOf(a).source.offset).toBe('9007199254740993');
  });

  it('cuts the reason header to 200 chars but keeps the whole reason in the body', () => {
    const reason = `invalid: ${'r'.repeat(400)}`;
    const m = deadLetter('history', record(Buffer.from('x')), reason);
    expect(m.headers?.['x-dlq-reason']).toBe(reason.slice(0, 200));
    expect(letterOf(m).reason).toBe(reason);
  });
});
