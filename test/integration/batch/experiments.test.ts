import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retire } from '../../../batch/job.js';
import { buildCollection } from '../../../batch/publish.js';
import { createRedis } from '../../../clients/redis.js';
import { projectRoot } from '../../../config/index.js';
import { IsolatedStack } from '../../../infra/local/isolated-stack.js';
import { openItemVectors } from '../../../stores/vectors/open.js';
import { MODEL_CHANNEL } from '../../../versions/channel.js';
import { type LivePointer, ModelRegistry } from '../../../versions/registry.js';

// `towerflow experiment start|promote|abort` on the real Redis and Milvus, run as an operator
// runs them (the built CLI, several at once): each changes things once, the alias moves once,
// the daily job's retire keeps what a running experiment serves, and refusals are one line.
const exec = promisify(execFile);
const bin = path.join(projectRoot(), 'bin', 'towerflow.js');
const DIM = 4;
const [P, A, N, B, C] = [
  'v20240101-000000',
  'v20240102-000000',
  'v20240103-000000',
  'v20240104-000000',
  'v20240105-000000',
];

describe('experiment start, promote and abort (real Redis and Milvus, built CLI)', () => {
  const stack = new IsolatedStack({
    redisDb: 7,
    portOffset: 7,
    extraEnv: { BATCH_RELEASE_GRACE_SECONDS: '1' },
  });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const sub = createRedis(cfg);
  const vectorStore = openItemVectors(cfg);
  const models = new ModelRegistry(cfg, redis);
  const announced: string[] = [];

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return exec('node', [bin, 'experiment', ...args], { env: stack.env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );
  }

  /** A version as the daily job leaves it: a folder with its towers' shape, a loaded collection. */
  async function version(name: string): Promise<LivePointer> {
    const dir = models.versionDir(name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ towers: { outDim: DIM } }));
    const records = ['i1', 'i2', 'i3'].map((id) => ({ id, categorical: {}, numeric: {} }));
    await buildCollection(
      vectorStore,
      name,
      records,
      Float32Array.from({ length: 3 * DIM }, (_, i) => i),
      DIM,
    );
    return {
      version: name,
      collection: vectorStore.collectionOf(name),
      dim: DIM,
      publishedAt: new Date().toISOString(),
    };
  }
  async function publish(p: LivePointer): Promise<void> {
    await vectorStore.switchLive(p.version);
    await models.publish(p);
  }

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb(); // db 7 is this file's
    await sub.connect();
    sub.on('message', (_channel, message) =>
      announced.push((JSON.parse(message) as { event: string }).event),
    );
    await sub.subscribe(MODEL_CHANNEL);
    await publish(await version(P));
    await publish(await version(A));
    await version(B);
  });
  afterAll(async () => {
    sub.disconnect();
    await redis.quit();
    await vectorStore.close();
    await stack.close();
  });

  it('refuses a bad start in one line, starts once under two concurrent starts, and again changes nothing', async () => {
    const bad = await cli('start', '--name', 'promo', '--candidate', 'nope');
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      'towerflow: --candidate must be a model version name (vYYYYMMDD-HHMMSS), got "nope"',
    ]);
    const missing = await cli('start', '--name', 'promo', '--candidate', 'v20991231-000000');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `towerflow: model version v20991231-000000 has no folder in ${models.dir}. Name a version the daily job built (\`towerflow batch status\` lists the published ones)`,
    );
    await vectorStore.release(B);
    const both = await Promise.all(
      [1, 2].map(() => cli('start', '--name', 'promo', '--candidate', B, '--share', '0.2', '--json')),
    );
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    const outs = both.map(
      (r) => JSON.parse(r.stdout) as { state: string; control: string; candidate: string; changed: boolean },
    );
    expect(outs.map((o) => o.changed).sort()).toEqual([false, true]);
    for (const o of outs) expect([o.state, o.control, o.candidate]).toEqual(['running', A, B]);
    expect(await vectorStore.isLoaded(B)).toBe(true); // searchable before any API reads the definition
    const again = await cli('start', '--name', 'promo', '--candidate', B, '--share', '0.2');
    expect([again.code, again.stdout.trim()]).toEqual([
      0,
      `already running: promo (ab, 20.00 % to ${B}; control ${A} on ${cfg.milvusAlias})`,
    ]);
    const other = await cli('start', '--name', 'other', '--candidate', B);
    expect([other.code, other.stderr.trim()]).toEqual([
      4,
      `towerflow: experiment promo is already running on ${cfg.milvusAlias}. Promote or abort it first`,
    ]);
  });

  it('the daily job’s retire keeps the versions a running experiment serves', async () => {
    // a publish during the experiment: the control becomes a previous version, then is trimmed
    await publish(await version(N));
    const out: string[] = [];
    const r = await retire({ ...cfg, batchKeepVersions: 1 }, models, redis, vectorStore, (m) => out.push(m));
    expect(r.versions).toEqual([P]); // P is gone; A (control, trimmed) and B (candidate, no pointer) stay
    for (const v of [A, B]) {
      expect([
        v,
        await vectorStore.exists(v),
        await vectorStore.isLoaded(v),
        existsSync(models.versionDir(v)),
      ]).toEqual([v, true, true, true]);
    }
    expect(await vectorStore.exists(P)).toBe(false);
    expect(out).toContain(`  ${A} kept: a running experiment serves it`);
  });

  it('promote run twice at once moves the alias once and ends the experiment as promoted', async () => {
    const before = await models.state();
    announced.length = 0;
    const both = await Promise.all([1, 2].map(() => cli('promote', 'promo', '--json')));
    expect(both.map((r) => [r.code, r.stderr.split('\n').filter((l) => l.startsWith('towerflow:'))])).toEqual(
      [
        [0, []],
        [0, []],
      ],
    );
    const outs = both.map(
      (r) =>
        JSON.parse(r.stdout) as {
          switched: boolean;
          changed: boolean;
          definition: { state: string };
          live: LivePointer;
        },
    );
    expect(outs.map((o) => o.switched).sort()).toEqual([false, true]);
    expect(outs.map((o) => o.changed).sort()).toEqual([false, true]);
    for (const o of outs) expect([o.definition.state, o.live.version]).toEqual(['promoted', B]);
    expect((await models.live())?.version).toBe(B);
    expect(await vectorStore.liveVersion()).toBe(B);
    // the version replaced went into the rollback record once
    expect((await models.state()).previous.map((p) => p.version)).toEqual([
      N,
      ...before.previous.map((p) => p.version),
    ]);
    await expect.poll(() => announced, { timeout: 5000 }).toEqual(['promoted']);
    expect(await vectorStore.isLoaded(N)).toBe(false); // released after the grace
    const again = await cli('promote', 'promo');
    expect([again.code, again.stdout.trim()]).toEqual([0, `already promoted: ${B} is live`]);
    const abort = await cli('abort', 'promo');
    expect([abort.code, abort.stderr.trim()]).toEqual([
      4,
      `towerflow: experiment promo was promoted. Its candidate ${B} is live; \`towerflow batch rollback\` returns to the version before it`,
    ]);
    expect(announced).toEqual(['promoted']);
  });

  it('abort run twice at once ends the experiment once and drops the candidate; promote then refuses', async () => {
    await version(C);
    expect((await cli('start', '--name', 'dud', '--candidate', C, '--share', '0.5')).code).toBe(0);
    const both = await Promise.all([1, 2].map(() => cli('abort', 'dud', '--json')));
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    const outs = both.map(
      (r) => JSON.parse(r.stdout) as { changed: boolean; candidate: string; definition: { state: string } },
    );
    expect(outs.map((o) => o.changed).sort()).toEqual([false, true]);
    for (const o of outs) expect([o.definition.state, o.candidate]).toEqual(['aborted', 'dropped']);
    expect(await vectorStore.exists(C)).toBe(false);
    expect((await models.live())?.version).toBe(B);
    const promote = await cli('promote', 'dud');
    expect([promote.code, promote.stderr.trim()]).toEqual([
      4,
      'towerflow: experiment dud was aborted. Its candidate may be gone; start a new experiment to try it again',
    ]);
    const status = await cli('status', '--json');
    expect(
      (JSON.parse(status.stdout) as { name: string; state: string }[]).map((d) => [d.name, d.state]),
    ).toEqual([
      ['dud', 'aborted'],
      ['promo', 'promoted'],
    ]);
    const report = await cli('report', 'promo', '--json');
    expect(report.code).toBe(0);
    const r = JSON.parse(report.stdout) as {
      arms: { name: string; model_version: string; users: number }[];
      recommendation: string;
    };
    expect(r.arms.map((a) => [a.name, a.model_version, a.users])).toEqual([
      ['control', A, 0],
      ['candidate', B, 0],
    ]);
    expect(r.recommendation).toBe('keep running');
    const unknown = await cli('report', 'nothing');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      2,
      'towerflow: no experiment named nothing. `towerflow experiment status` lists them',
    ]);
  });
});
