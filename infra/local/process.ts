import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, quoteTail, UserFacingError, type UserFacingErrorInit } from '../../runtime/errors.js';

/**
 * A local service could not be provisioned or started. The message says which and why; a log's
 * last lines go in `detail`, never into the message (one line per failure on the terminal).
 */
export class InfraError extends UserFacingError {
  override name = 'InfraError';
  /** The local service it is about, when one. */
  readonly service: string | undefined;

  constructor(
    init: string | (Omit<UserFacingErrorInit, 'exitCode'> & { exitCode?: ExitCode; service?: string }),
  ) {
    const o = typeof init === 'string' ? { cause: init } : init;
    super({ ...o, exitCode: o.exitCode ?? ExitCode.UNAVAILABLE });
    this.service = typeof init === 'string' ? undefined : init.service;
  }
}

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  pidFile: string;
}

/**
 * Starts a long-running process in its own process group (so that stopping it also ends
 * whatever it forks, e.g. Milvus' embedded etcd), output appended to its log file.
 */
export function spawnDaemon(spec: DaemonSpec): number {
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new InfraError(`${spec.name}: could not start ${spec.command}`);
    child.on('error', () => {});
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) is not alive for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids whose process group is `pgid` (the daemon and everything it forked). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // process ended while we looked
    }
  }
  return out;
}

/**
 * What a pid file stands for now. The pid names the server itself, which leads its process
 * group (its helpers, e.g. Milvus' socat bridges, share the group): `running` while the server
 * lives; `dead` when it is gone, with `leftovers` the group members it left behind (helpers that
 * still hold its ports and must be ended before a new start); `absent` with no pid file.
 */
export type DaemonState =
  | { state: 'running'; pid: number }
  | { state: 'dead'; pid: number; leftovers: number[] }
  | { state: 'absent' };

export function daemonState(pidFile: string): DaemonState {
  const pid = readPid(pidFile);
  if (pid === undefined) return { state: 'absent' };
  if (isAlive(pid)) return { state: 'running', pid };
  return { state: 'dead', pid, leftovers: groupMembers(pid) };
}

/** CPU seconds (user + system) used so far by a daemon's whole process group. */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of groupMembers(pgid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Resident memory in bytes of a daemon's whole process group. */
export function groupRssBytes(pgid: number): number {
  let kb = 0;
  for (const pid of groupMembers(pgid)) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m?.[1]) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb * 1024;
}

/** Signals (SIGTERM by default) the daemon's process group, wait, then SIGKILL what is left. Removes the pid file. */
export async function stopDaemon(
  pidFile: string,
  graceMs = 30_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<'stopped' | 'not-running'> {
  const pid = readPid(pidFile);
  if (pid === undefined || groupMembers(pid).length === 0) {
    rmSync(pidFile, { force: true });
    return 'not-running';
  }
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signalGroup(signal);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupMembers(pid).length > 0) await sleep(200);
  if (groupMembers(pid).length > 0) {
    signalGroup('SIGKILL');
    const hard = Date.now() + 5000;
    while (Date.now() < hard && groupMembers(pid).length > 0) await sleep(100);
  }
  rmSync(pidFile, { force: true });
  return 'stopped';
}

/**
 * Waits until nothing accepts connections on `ports` (a killed server's sockets close only when
 * its last thread has exited, which can trail its pid's disappearance); returns the ports
 * still open at the deadline.
 */
export async function portsReleased(ports: number[], host: string, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open: number[] = [];
    for (const port of ports) if (await portOpen(port, host, 500)) open.push(port);
    if (open.length === 0 || Date.now() >= deadline) return open;
    await sleep(100);
  }
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** The last `lines` lines of a log (read from its end: logs grow large), `|`-prefixed for showing. */
export function tailFile(file: string, lines = 10): string {
  if (!existsSync(file)) return '| (no log file)';
  const size = statSync(file).size;
  const length = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return quoteTail(buf.toString('utf8'), lines);
}

/** Polls `check` until it returns true; on timeout throws naming the service and showing its log tail. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; logFile?: string; pid?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new InfraError({
        service: what,
        cause: `${what}: the process exited before becoming healthy`,
        fix: opts.logFile ? 'the end of its log says why' : undefined,
        logPath: opts.logFile,
        detail: opts.logFile ? tailFile(opts.logFile) : undefined,
      });
    }
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    await sleep(opts.intervalMs ?? 500);
  }
  throw new InfraError({
    service: what,
    cause: `${what}: not healthy after ${Math.round(opts.timeoutMs / 1000)} s`,
    fix: opts.logFile
      ? 'the end of its log says why (it may still be starting: `towerflow infra status`)'
      : undefined,
    logPath: opts.logFile,
    detail: opts.logFile ? tailFile(opts.logFile) : undefined,
  });
}
