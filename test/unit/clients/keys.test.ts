import { describe, expect, it } from 'vitest';
import { KeyError, redisKey } from '../../../clients/keys.js';

describe('redisKey', () => {
  it('joins validated parts', () => {
    expect(redisKey('seq', 'user-42')).toBe('tf:seq:user-42');
  });
  it.each(['a:b', 'a b', '', 'x'.repeat(129), 'é', '*'])('refuses %j', (part) => {
    expect(() => redisKey('seq', part)).toThrow(KeyError);
  });
});
