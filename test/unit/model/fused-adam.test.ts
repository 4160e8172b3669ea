import { describe, expect, it } from 'vitest';
import { FusedAdam } from '../../../model/fused-adam.js';
import { type Scalar, type Tensor, tf } from '../../../model/tf.js';

const target = () => tf.tensor2d([0.5, 1, -1, 2, 0, 3], [3, 2]);
const loss = (w: Tensor, t: Tensor) =>
  tf.sum(tf.mul(tf.square(tf.sub(w, t)), tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]))) as Scalar;

describe('FusedAdam', () => {
  it('takes the same steps as tfjs Adam (epsilon aside), learning-rate changes included', async () => {
    const init = tf.tensor2d([1, 2, 3, 4, -5, 0.1], [3, 2]);
    const a = tf.variable(init.clone());
    const b = tf.variable(init.clone());
    const c = tf.variable(tf.tensor1d([1, -1]));
    const d = tf.variable(tf.tensor1d([1, -1]));
    const ref = tf.train.adam(0.05);
    const fused = new FusedAdam(0.05);
    const t = target();
    for (let i = 0; i < 25; i++) {
      if (i === 10) {
        (ref as unknown as { learningRate: number }).learningRate = 0.01;
        fused.learningRate = 0.01;
      }
      ref.minimize(() => tf.add(loss(a, t), tf.sum(tf.square(c))) as Scalar);
      fused.minimize(() => tf.add(loss(b, t), tf.sum(tf.square(d))) as Scalar);
    }
    const [x, y] = [await a.data(), await b.data()];
    // the values moved well away from the start, and both optimizers moved them alike
    expect(Math.abs((x[0] as number) - 1)).toBeGreaterThan(0.3);
    x.forEach((v, i) => {
      expect(y[i]).toBeCloseTo(v, 4);
    });
    const [p, q] = [await c.data(), await d.data()];
    p.forEach((v, i) => {
      expect(q[i]).toBeCloseTo(v, 4);
    });
    fused.dispose();
    ref.dispose();
  });

  it('leaves no tensors behind per step and frees its slots on dispose', () => {
    const w = tf.variable(tf.zeros([64, 8]));
    const opt = new FusedAdam(0.01);
    const t = tf.ones([64, 8]);
    const step = () => opt.minimize(() => tf.sum(tf.square(tf.sub(w, t))) as Scalar);
    step();
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(after1);
    opt.dispose();
    // weight, m and v: three resource handles gone
    expect(tf.memory().numTensors).toBe(after1 - 3);
    expect(Array.from(w.dataSync()).every((v) => v > 0)).toBe(true);
  });

  it('frees its TensorFlow resources on dispose (native memory does not grow per optimizer)', () => {
    // 3 slots × 4M floats = 48 MB a cycle: 12 cycles would leak ~570 MB if resources stayed
    const w = tf.variable(tf.zeros([4000, 1000]));
    const t = tf.ones([4000, 1000]);
    const cycle = () => {
      const opt = new FusedAdam(0.01);
      opt.minimize(() => tf.sum(tf.square(tf.sub(w, t))) as Scalar);
      opt.dispose();
    };
    cycle();
    cycle();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 12; i++) cycle();
    const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    expect(grownMiB).toBeLessThan(200);
    tf.dispose([w, t]);
  });

  it('keeps its slots when a step runs inside tf.tidy', () => {
    const w = tf.variable(tf.zeros([4]));
    const opt = new FusedAdam(0.1);
    const step = () => opt.minimize(() => tf.sum(tf.square(tf.sub(w, 1))) as Scalar);
    tf.tidy(() => {
      step();
    });
    tf.tidy(() => {
      step();
    });
    expect(Array.from(w.dataSync()).every((v) => v > 0.1)).toBe(true);
    opt.dispose();
  });

  it('refuses a gradient for a variable it cannot find', () => {
    const opt = new FusedAdam(0.01);
    expect(() => opt.applyGradients({ 'no-such-variable': tf.ones([2]) })).toThrow(/no variable named/);
    opt.dispose();
  });
});
