import { describe, expect, it } from 'vitest';
import { kafkaClusterId } from '../../../../../infra/local/services/kafka.js';

describe('kafkaClusterId', () => {
  it('is 16 bytes of URL-safe base64 that never starts with "-" (an option to the storage tool)', () => {
    // 1 random id in 64 starts with "-": 5,000 draws miss that with probability (63/64)^5000 ≈ 0
    const ids = Array.from({ length: 5000 }, kafkaClusterId);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
