import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Exposure } from '../../../../schemas/exposure.js';
import { experimentMetrics, rejectExposure } from '../../../../streams/processors/experiments.js';

const exposure = (o: Partial<Exposure> = {}): Exposure => ({
  request_id: 'r1',
  user_id: 'u1',
  experiment: 'exp-a',
  arm: 'control',
  model_version: 'v20240131-030405',
  source: 'personal',
  items: ['i1'],
  ts: 1,
  ...o,
});

describe('experiments processor: exposures it cannot use', () => {
  it('accepts one inside an experiment and one outside any', () => {
    expect(rejectExposure(exposure())).toBeUndefined();
    expect(rejectExposure(exposure({ experiment: null, arm: null }))).toBeUndefined();
  });

  it('names what is wrong: an experiment without an arm, an arm without one, a name no experiment can have', () => {
    expect(rejectExposure(exposure({ arm: null }))).toBe(
      'experiment and arm must both be set or both null, got experiment "exp-a" and arm null',
    );
    expect(rejectExposure(exposure({ experiment: null }))).toBe(
      'experiment and arm must both be set or both null, got experiment null and arm "control"',
    );
    expect(rejectExposure(exposure({ experiment: 'Exp.A' }))).toBe(
      'experiment must match ^[a-z0-9][a-z0-9_-]{0,62}$, got "Exp.A"',
    );
  });
});

describe('experiments processor: metrics', () => {
  it('exports the skip and rejoin reasons at 0 from the start, and per-arm series only once counted', async () => {
    const registry = new Registry();
    experimentMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain('towerflow_experiment_exposures_skipped_total{reason="no_experiment"} 0');
    expect(text).toContain('towerflow_experiment_exposures_skipped_total{reason="unknown_experiment"} 0');
    expect(text).toContain('towerflow_experiment_rejoined_batches_total{reason="state"} 0');
    expect(text).toContain('towerflow_experiment_rejoined_batches_total{reason="fence"} 0');
    expect(text).toContain('# TYPE towerflow_experiment_hit_position_retracted histogram');
    // names without series still carry HELP and TYPE (what `dashboards verify` reads as known)
    expect(text).toContain('# TYPE towerflow_experiment_events_total counter');
    expect(text).not.toContain('towerflow_experiment_events_total{');
  });
});
