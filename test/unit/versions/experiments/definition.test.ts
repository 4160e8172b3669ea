import { describe, expect, it } from 'vitest';
import { defineExperiment, ExperimentError } from '../../../../versions/experiments/definition.js';

const live = { alias: 'towerflow_items', version: 'v20240131-030405' };
const now = new Date('2024-02-01T00:00:00Z');

describe('defineExperiment', () => {
  it('pins the control arm to the version live at the start', () => {
    expect(defineExperiment({ name: 'new-tower', candidate: 'v20240201-030405' }, live, now)).toEqual({
      name: 'new-tower',
      alias: 'towerflow_items',
      mode: 'ab',
      control: 'v20240131-030405',
      candidate: 'v20240201-030405',
      share: 0.1,
      startedAt: '2024-02-01T00:00:00.000Z',
      state: 'running',
    });
  });

  it.each([
    [{ name: 'Bad Name', candidate: 'v20240201-030405' }, '--name'],
    [{ name: 'x:y', candidate: 'v20240201-030405' }, '--name'],
    [{ name: 'ok', candidate: '../etc' }, '--candidate'],
    [{ name: 'ok', candidate: 'v20240201-030405', share: 1 }, '--share'],
    [{ name: 'ok', candidate: 'v20240201-030405', share: 0 }, '--share'],
    [{ name: 'ok', candidate: 'v20240201-030405', mode: 'canary' }, '--mode'],
    [{ name: 'ok', candidate: 'v20240131-030405' }, 'already the live version'],
  ])('refuses %j naming %s', (req, field) => {
    expect(() => defineExperiment(req, live, now)).toThrow(ExperimentError);
    expect(() => defineExperiment(req, live, now)).toThrow(field);
  });

  it('refuses to start before any version is live', () => {
    expect(() => defineExperiment({ name: 'ok', candidate: 'v20240201-030405' }, undefined, now)).toThrow(
      'no live model version',
    );
  });
});
