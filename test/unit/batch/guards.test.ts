import { describe, expect, it } from 'vitest';
import { assertConverged, TrainingDivergedError } from '../../../batch/guards.js';

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
