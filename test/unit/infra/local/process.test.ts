import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonState, groupMembers, spawnDaemon, stopDaemon } from '../../../../infra/local/process.js';

// A daemon shaped like the Milvus launcher: a helper started in the background, then an exec,
// so that the recorded pid is the server and the helper shares its process group.
const dir = mkdtempSync(path.join(tmpdir(), 'tf-process-'));
const started: number[] = [];

function startServerWithHelper(name: string): { pid: number; pidFile: string } {
  const pidFile = path.join(dir, `${name}.pid`);
  const pid = spawnDaemon({
    name,
    command: 'bash',
    args: ['-c', 'sleep 300 & exec sleep 301'],
    logFile: path.join(dir, `${name}.log`),
    pidFile,
  });
  started.push(pid);
  return { pid, pidFile };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await sleep(20);
  expect(cond()).toBe(true);
}

afterEach(() => {
  for (const pgid of started.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('daemonState', () => {
  it('is absent without a pid file', () => {
    expect(daemonState(path.join(dir, 'none.pid'))).toEqual({ state: 'absent' });
  });

  it('names the server as running while it lives, with its helper in its group', async () => {
    const { pid, pidFile } = startServerWithHelper('alive');
    await until(() => groupMembers(pid).length === 2);
    expect(daemonState(pidFile)).toEqual({ state: 'running', pid });
  });

  it('a killed server is dead even though its helper lives on, and the helper is what it left', async () => {
    const { pid, pidFile } = startServerWithHelper('killed');
    await until(() => groupMembers(pid).length === 2);
    const helper = groupMembers(pid).find((p) => p !== pid);
    process.kill(pid, 'SIGKILL');
    await until(() => daemonState(pidFile).state === 'dead');
    expect(daemonState(pidFile)).toEqual({ state: 'dead', pid, leftovers: [helper] });
    // what `infra up` does before starting again: end the leftovers, drop the pid file
    expect(await stopDaemon(pidFile, 2000)).toBe('stopped');
    expect(groupMembers(pid)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    expect(daemonState(pidFile)).toEqual({ state: 'absent' });
  });

  it('a dead server with nothing left is dead with no leftovers', async () => {
    const pidFile = path.join(dir, 'gone.pid');
    const child = spawn('true');
    await new Promise((r) => child.once('exit', r));
    writeFileSync(pidFile, `${child.pid}\n`);
    expect(daemonState(pidFile)).toEqual({ state: 'dead', pid: child.pid, leftovers: [] });
  });
});
