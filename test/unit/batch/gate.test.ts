import { describe, expect, it } from 'vitest';
import { decide } from '../../../batch/gate.js';

describe('gate decision', () => {
  it('passes without a live version, within tolerance, and refuses a larger drop', () => {
    expect(decide(0.2, undefined, 0.01).pass).toBe(true);
    expect(decide(0.295, 0.3, 0.01).pass).toBe(true);
    const refused = decide(0.28, 0.3, 0.01);
    expect(refused.pass).toBe(false);
    expect(refused.reason).toMatch(/below live 0.3000/);
    expect(decide(Number.NaN, 0.3, 0.01).pass).toBe(false);
  });
});
