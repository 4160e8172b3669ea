import { describe, expect, it } from 'vitest';
import { decide } from '../../../batch/gate.js';
import { assertConverged, TrainingDivergedError } from '../../../batch/guards.js';
import { windowRange } from '../../../batch/window.js';
import { utf8Prefix } from '../../../stores/vectors/item-fields.js';
import { collectionOf, newVersionName } from '../../../versions/registry.js';

describe('assertConverged', () => {
  it('passes finite losses and vectors', () => {
    expect(() => assertConverged([{ step: 1, loss: 6.2 }], new Float32Array([0.1, -0.2]))).not.toThrow();
  });
  it('refuses a NaN or infinite loss, naming the step', () => {
    expect(() =>
      assertConverged([
        { step: 1, loss: 6 },
        { step: 2, loss: Number.NaN },
      ]),
    ).toThrow(TrainingDivergedError);
    expect(() => assertConverged([{ step: 7, loss: Number.POSITIVE_INFINITY }])).toThrow(/step 7/);
  });
  it('refuses non-finite item vectors', () => {
    expect(() => assertConverged([], new Float32Array([0.1, Number.NaN]))).toThrow(/non-finite vectors/);
  });
});

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

describe('registry names and windows', () => {
  it('names versions by UTC time, unique on a clash, and collections after the alias', () => {
    const at = new Date('2024-01-31T03:04:05Z');
    expect(newVersionName(at, () => false)).toBe('v20240131-030405');
    const taken = new Set(['v20240131-030405', 'v20240131-030405-2']);
    expect(newVersionName(at, (n) => taken.has(n))).toBe('v20240131-030405-3');
    expect(collectionOf('towerflow_items', 'v20240131-030405')).toBe('towerflow_items_v20240131_030405');
  });
  it('takes the days ending with --date, inclusive, and rejects bad dates', () => {
    expect(windowRange('2024-01-31', 2)).toEqual({
      from: Date.parse('2024-01-30T00:00:00Z'),
      to: Date.parse('2024-02-01T00:00:00Z'),
    });
    expect(() => windowRange('31/01/2024', 1)).toThrow(/YYYY-MM-DD/);
    expect(() => windowRange('2024-01-31', 0)).toThrow(/positive/);
  });
});

describe('utf8Prefix', () => {
  it('cuts by UTF-8 bytes on a code-point boundary (Milvus VarChar lengths count bytes)', () => {
    expect(utf8Prefix('Comedy', 256)).toBe('Comedy');
    const cjk = '喜'.repeat(100); // 300 bytes
    const cut = utf8Prefix(cjk, 256);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(256);
    expect(cut).toBe('喜'.repeat(85));
    expect(utf8Prefix('a😀b', 4)).toBe('a'); // the emoji (4 bytes) does not fit after 'a'
  });
});
