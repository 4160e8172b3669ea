import { describe, expect, it } from 'vitest';
import { decodeAnswer, encodeAnswer } from '../../../../stores/answers/redis.js';

describe('recorded answers', () => {
  it('round-trip', () => {
    const a = {
      ts: 1_700_000_000_123,
      version: 'v20240101-000000',
      source: 'personal',
      items: [5, -7, 2 ** 31 - 1],
    };
    expect(decodeAnswer(encodeAnswer(a))).toEqual(a);
    expect(decodeAnswer(encodeAnswer({ ...a, version: '', items: [] }))).toEqual({
      ...a,
      version: '',
      items: [],
    });
  });

  it('refuse labels that are not a version or a source, and foreign values', () => {
    expect(() => encodeAnswer({ ts: 1, version: 'v1"}', source: 'personal', items: [] })).toThrow(
      /bad answer label/,
    );
    expect(() => encodeAnswer({ ts: 1, version: 'v1', source: 'Personal!', items: [] })).toThrow(
      /bad answer label/,
    );
    expect(decodeAnswer('not an answer')).toBeUndefined();
    expect(decodeAnswer('1\tv1\tpersonal\t1,x')).toBeUndefined();
    expect(decodeAnswer('1\tv1\tpersonal\t1\textra')).toBeUndefined();
  });
});
