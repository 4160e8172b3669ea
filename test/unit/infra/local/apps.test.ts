import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../config/index.js';
import {
  APPS,
  appPaths,
  appsDown,
  appsScale,
  appsStatus,
  appsUp,
  findApp,
  instanceOf,
  knownInstances,
  partitionCeiling,
} from '../../../../infra/local/apps.js';
import { targetFile } from '../../../../runtime/targets.js';

/** The pid of a process that has exited (what a `kill -9` leaves in a pid file). */
async function deadPid(): Promise<number> {
  const dead = spawn('true');
  await new Promise((r) => dead.once('exit', r));
  return dead.pid as number;
}

const home = () => mkdtempSync(path.join(tmpdir(), 'tf-apps-'));

describe('apps up after an app died', () => {
  it('drops the dead app’s pid file and refuses to start over a port another process holds', async () => {
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as net.AddressInfo).port;
    const cfg = loadConfig({
      TOWERFLOW_HOME: home(),
      INGEST_PORT: String(port),
      TOWERFLOW_BIND_HOST: '127.0.0.1',
    });
    // a pid file left by an ingest process that was killed
    const { pidFile } = appPaths(cfg, 'ingest');
    writeFileSync(pidFile, `${await deadPid()}\n`);
    try {
      await expect(appsUp(cfg, ['ingest'], { timeoutMs: 1000, portReleaseMs: 300 })).rejects.toThrow(
        `ingest: port ${port} on 127.0.0.1 is taken by a process towerflow did not start`,
      );
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      other.close();
    }
  });

  it('brings back a dead instance other than 0 on its own port, without being asked for more instances', async () => {
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as net.AddressInfo).port;
    // instance 2 of serve lands on the port another process holds
    const cfg = loadConfig({
      TOWERFLOW_HOME: home(),
      RECALL_PORT: String(port - 2 * 7),
      APPS_INSTANCE_PORT_STEP: '7',
    });
    const { pidFile } = appPaths(cfg, 'serve', 2);
    writeFileSync(pidFile, `${await deadPid()}\n`);
    // instance 0 is running (its pid file names this test's own process)
    writeFileSync(appPaths(cfg, 'serve').pidFile, `${process.pid}\n`);
    try {
      await expect(appsUp(cfg, ['serve'], { timeoutMs: 1000, portReleaseMs: 300 })).rejects.toThrow(
        `serve-2: port ${port} on 127.0.0.1 is taken by a process towerflow did not start`,
      );
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      other.close();
    }
  });
});

describe('instances of an app', () => {
  const cfg = loadConfig({
    TOWERFLOW_HOME: home(),
    INGEST_PORT: '18000',
    RECALL_PORT: '18001',
    STREAM_METRICS_PORT_BASE: '19000',
  });

  it('puts instance 0 on today’s names and ports, instance i on + i × APPS_INSTANCE_PORT_STEP (default 1000)', () => {
    expect(APPS.map((a) => instanceOf(cfg, a, 0)).map((i) => [i.name, i.port])).toEqual([
      ['ingest', 18000],
      ['stream-history', 19000],
      ['stream-sequence', 19001],
      ['stream-items', 19002],
      ['stream-embeddings', 19003],
      ['stream-experiments', 19004],
      ['serve', 18001],
    ]);
    expect(APPS.map((a) => instanceOf(cfg, a, 2)).map((i) => [i.name, i.port])).toEqual([
      ['ingest-2', 20000],
      ['stream-history-2', 21000],
      ['stream-sequence-2', 21001],
      ['stream-items-2', 21002],
      ['stream-embeddings-2', 21003],
      ['stream-experiments-2', 21004],
      ['serve-2', 20001],
    ]);
    // the process learns its port from the setting it reads
    expect(findApp('sequence').portEnv(cfg, 2)).toEqual({ STREAM_METRICS_PORT_BASE: '21000' });
    expect(findApp('ingest').portEnv(cfg, 1)).toEqual({ INGEST_PORT: '19000' });
    expect(findApp('serve').portEnv(cfg, 3)).toEqual({ RECALL_PORT: '21001' });
  });

  it('keeps a pid and a log file per instance, and knows the instances by their pid files', async () => {
    const p0 = appPaths(cfg, 'history');
    const p3 = appPaths(cfg, 'stream-history', 3);
    expect(path.basename(p0.pidFile)).toBe('app-stream-history.pid');
    expect(path.basename(p3.pidFile)).toBe('app-stream-history-3.pid');
    expect(path.basename(p3.logFile)).toBe('app-stream-history-3.log');
    const dead = await deadPid();
    for (const p of [p0, p3]) writeFileSync(p.pidFile, `${dead}\n`);
    writeFileSync(path.join(cfg.homeDir, 'run', 'app-stream-history-x.pid'), `${dead}\n`);
    expect(knownInstances(cfg, findApp('history'))).toEqual([0, 3]);
    expect(knownInstances(cfg, findApp('sequence'))).toEqual([]);
  });

  it('bounds a stream processor’s instances by its topics’ partitions, naming the settings', async () => {
    expect(partitionCeiling(cfg, findApp('history'))).toEqual({
      instances: 6,
      settings: ['TOPIC_BEHAVIOUR_PARTITIONS=6'],
    });
    expect(partitionCeiling(cfg, findApp('items'))).toEqual({
      instances: 6,
      settings: ['TOPIC_ITEM_PARTITIONS=3', 'TOPIC_USER_PARTITIONS=3'],
    });
    expect(partitionCeiling(cfg, findApp('experiments'))).toEqual({
      instances: 9,
      settings: ['TOPIC_EXPOSURE_PARTITIONS=3', 'TOPIC_BEHAVIOUR_PARTITIONS=6'],
    });
    expect(partitionCeiling(cfg, findApp('serve'))).toBeUndefined();
    await expect(appsUp(cfg, ['sequence'], { instances: 7 })).rejects.toThrow(
      'stream-sequence: 7 instances, but its topics have 6 partitions in all (TOPIC_BEHAVIOUR_PARTITIONS=6)',
    );
    await expect(appsScale(cfg, 'items', 7)).rejects.toThrow(
      /TOPIC_ITEM_PARTITIONS=3, TOPIC_USER_PARTITIONS=3/,
    );
    await expect(appsScale(cfg, 'serve', 0)).rejects.toThrow(
      'instances must be a whole number of at least 1, got 0',
    );
    // refused before anything starts
    await expect(appsUp(cfg, ['serve'], { instances: 49 })).rejects.toThrow(
      'serve: instance 48 would listen on port 66001, beyond 65535',
    );
    await expect(appsUp(cfg, ['nope'])).rejects.toThrow('unknown app nope');
  });
});

describe('apps status and down with several instances', () => {
  it('lists every instance; down stops each, removing its pid file and the target file a kill -9 left', async () => {
    const cfg = loadConfig({ TOWERFLOW_HOME: home(), INGEST_PORT: '18010', APPS_INSTANCE_PORT_STEP: '5' });
    const targets = path.join(cfg.homeDir, 'run', 'targets');
    mkdirSync(targets, { recursive: true });
    const dead = await deadPid();
    for (const i of [0, 1, 2]) writeFileSync(appPaths(cfg, 'ingest', i).pidFile, `${dead}\n`);
    const leftover = targetFile(cfg, 'ingest', '127.0.0.1:18015');
    writeFileSync(leftover, '[]\n');

    const st = (await appsStatus(cfg)).filter((s) => s.app === 'ingest');
    expect(st).toEqual(
      [0, 1, 2].map((i) => ({
        name: i === 0 ? 'ingest' : `ingest-${i}`,
        app: 'ingest',
        instance: i,
        pid: undefined,
        up: false,
        url: `http://127.0.0.1:${18010 + 5 * i}`,
      })),
    );
    // every other app shows its instance 0 alone
    expect((await appsStatus(cfg)).filter((s) => s.app !== 'ingest').map((s) => s.name)).toEqual(
      APPS.filter((a) => a.name !== 'ingest').map((a) => a.name),
    );

    await appsDown(cfg, ['ingest']);
    expect([0, 1, 2].map((i) => existsSync(appPaths(cfg, 'ingest', i).pidFile))).toEqual([
      false,
      false,
      false,
    ]);
    expect(existsSync(leftover)).toBe(false);
    expect(knownInstances(cfg, findApp('ingest'))).toEqual([]);
  });
});
