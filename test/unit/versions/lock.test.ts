import { describe, expect, it } from 'vitest';
import { LOCK_KEY } from '../../../versions/lock.js';

describe('the publish lock', () => {
  it('keeps the key every deployment, runbook and drill knows', () => {
    expect(LOCK_KEY).toBe('tf:lock:batch');
  });
});
