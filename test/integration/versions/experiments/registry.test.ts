import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../../clients/redis.js';
import { loadConfig } from '../../../../config/index.js';
import { defineExperiment, ExperimentError } from '../../../../versions/experiments/definition.js';
import { definitionKey, ExperimentRegistry, runningKey } from '../../../../versions/experiments/registry.js';

// Experiment definitions on the real Redis: one running experiment per alias even under
// concurrent starts, and ends that are idempotent and safe to race.
const cfg = loadConfig(process.env);
const redis = createRedis(cfg);
const dir = mkdtempSync(path.join(tmpdir(), 'tf-exp-'));
const run = randomUUID().slice(0, 8);
const alias = `test_exp_${run}`;
const live = { alias, version: 'v20240131-030405' };
const names: string[] = [];
const def = (name: string) => {
  names.push(name);
  return defineExperiment({ name, candidate: 'v20240201-030405', share: 0.2 }, live, new Date());
};

describe('experiment registry (real Redis)', () => {
  const reg = new ExperimentRegistry(redis, dir);
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    await redis.del(runningKey(alias), ...names.map(definitionKey));
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets exactly one of five concurrent starts on one alias run', async () => {
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => reg.start(def(`race-${run}-${i}`))));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(ExperimentError);
        expect((r.reason as Error).message).toContain('is already running');
      }
    const winner = (won[0] as PromiseFulfilledResult<{ name: string }>).value.name;
    expect((await reg.running(alias))?.name).toBe(winner);
  });

  it('ends once when promote and abort race, and a repeated end changes nothing', async () => {
    const running = (await reg.running(alias)) as { name: string };
    const [a, b] = await Promise.all([reg.end(running.name, 'promoted'), reg.end(running.name, 'aborted')]);
    expect([a.changed, b.changed].filter(Boolean)).toHaveLength(1);
    const final = a.changed ? a.definition : b.definition;
    expect(a.definition.state).toBe(final.state);
    expect(b.definition.state).toBe(final.state);
    expect(await reg.running(alias)).toBeUndefined();
    const again = await reg.end(running.name, final.state === 'promoted' ? 'aborted' : 'promoted');
    expect(again).toEqual({ definition: final, changed: false });
  });

  it('refuses a name used before, and keeps ended definitions readable from the mirror', async () => {
    const ended = (await reg.list())[0] as { name: string; state: string };
    await expect(reg.start({ ...def(`fresh-${run}`), name: ended.name })).rejects.toThrow('exists already');
    await redis.del(definitionKey(ended.name)); // as after a Redis flush
    expect((await reg.get(ended.name))?.state).toBe(ended.state);
    expect(await reg.heldVersions()).toEqual(new Set());
  });

  it('holds both versions of a running experiment against retirement', async () => {
    await reg.start(def(`held-${run}`));
    expect(await reg.heldVersions()).toEqual(new Set(['v20240131-030405', 'v20240201-030405']));
    await reg.end(`held-${run}`, 'aborted');
    expect(await reg.heldVersions()).toEqual(new Set());
  });

  it('names the unknown experiment', async () => {
    await expect(reg.end(`nope-${run}`, 'aborted')).rejects.toThrow(`no experiment named nope-${run}`);
  });
});
