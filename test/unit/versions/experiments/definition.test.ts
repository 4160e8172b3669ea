import { describe, expect, it } from 'vitest';
import {
  defineExperiment,
  ExperimentError,
  versionsBeside,
} from '../../../../versions/experiments/definition.js';

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

describe('versionsBeside (what the stream processors keep current besides the live version)', () => {
  const d = defineExperiment({ name: 'new-tower', candidate: 'v20240201-030405' }, live, now);

  it('is the candidate while the control is live', () => {
    expect(versionsBeside('v20240131-030405', d)).toEqual(['v20240201-030405']);
  });

  it('is the control and the candidate once a third version went live, the control while the candidate is live, nothing without an experiment', () => {
    expect(versionsBeside('v20240202-030405', d)).toEqual(['v20240131-030405', 'v20240201-030405']);
    expect(versionsBeside('v20240201-030405', d)).toEqual(['v20240131-030405']);
    expect(versionsBeside('v20240131-030405', undefined)).toEqual([]);
  });
});
