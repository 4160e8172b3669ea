import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../../../cli/failure.js';
import { loadConfig } from '../../../../config/index.js';
import { localPaths } from '../../../../infra/local/paths.js';
import { InfraError, isAlive, readPid, spawnDaemon, tailFile } from '../../../../infra/local/process.js';
import { type LocalService, logFileOf, pidFileOf } from '../../../../infra/local/service.js';
import { startFailure, startOne } from '../../../../infra/local/stack.js';

describe('infra up failures', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-stack-'));
  const log = path.join(dir, 'hbase.log');
  // a JVM that dies prints pages; only the end is shown
  writeFileSync(log, `${Array.from({ length: 500 }, (_, i) => `\tat frame ${i}`).join('\n')}\n`);

  it('shows at most the last 10 lines of a service’s log', () => {
    const tail = tailFile(log).split('\n');
    expect(tail).toHaveLength(10);
    expect(tail[0]).toBe('| \tat frame 490');
    expect(tail.at(-1)).toBe('| \tat frame 499');
    expect(tailFile(path.join(dir, 'none.log'))).toBe('| (no log file)');
  });

  it('one failed service: its line (cause, log path) and its log end', () => {
    const one = new InfraError({
      service: 'hbase',
      cause: 'hbase: the process exited before becoming healthy',
      fix: 'the end of its log says why',
      logPath: log,
      detail: tailFile(log),
    });
    expect(startFailure([one])).toBe(one);
    const lines = describeFailure(one).text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `towerflow: hbase: the process exited before becoming healthy. The end of its log says why (log: ${log})`,
    );
    expect(lines).toHaveLength(11);
  });

  it('several: a line naming them, then each one’s line and log end', () => {
    const failed = (name: string) =>
      new InfraError({
        service: name,
        cause: `${name}: not healthy after 60 s`,
        logPath: `/h/logs/${name}.log`,
        detail: '| last line',
      });
    const f = describeFailure(startFailure([failed('kafka'), failed('milvus')]));
    expect(f.exitCode).toBe(3);
    expect(f.text.split('\n')).toEqual([
      'towerflow: 2 services did not start (kafka, milvus). Each one’s cause and the end of its log follow; fix them and run `towerflow infra up` again',
      '  kafka: not healthy after 60 s (log: /h/logs/kafka.log)',
      '    | last line',
      '  milvus: not healthy after 60 s (log: /h/logs/milvus.log)',
      '    | last line',
      '',
    ]);
  });
});

describe('infra up of a server that dies while it is being checked', () => {
  // `kill -9` then `infra up` at once: the killed server can still look alive for a moment (the
  // kernel is tearing it down), so `up` finds it running, waits for its health, and sees it die.
  // It must then start it again, not fail with "exited before becoming healthy".
  it('clears it and starts a new server', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'tf-up-'));
    const cfg = loadConfig({ ...process.env, TOWERFLOW_HOME: home });
    const said: string[] = [];
    const ctx = { cfg, paths: localPaths(cfg), say: (m: string) => said.push(m) };
    const sleeper = (name: string) =>
      spawnDaemon({
        name,
        command: 'sleep',
        args: ['600'],
        logFile: logFileOf(ctx, name),
        pidFile: pidFileOf(ctx, name),
      });
    const dying = sleeper('dying');
    let started: number | undefined;
    const svc: LocalService = {
      name: 'dying',
      ports: () => [],
      provision: async () => {},
      start: async () => {
        started = sleeper('dying');
        return started;
      },
      // the old server fails its check as it dies; the new one answers
      healthy: async () => {
        if (started === undefined) {
          process.kill(dying, 'SIGKILL');
          return false;
        }
        return isAlive(started);
      },
      startTimeoutMs: 20_000,
      version: async () => 'test',
    };
    try {
      await startOne(ctx, svc);
      expect(started).toBeDefined();
      expect(readPid(pidFileOf(ctx, 'dying'))).toBe(started);
      expect(said).toContain(`dying: server (pid ${dying}) exited while being checked; starting it again`);
    } finally {
      for (const pid of [dying, started]) if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
