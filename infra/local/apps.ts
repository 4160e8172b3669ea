import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/index.js';
import { PROCESSOR_NAMES } from '../../streams/runtime.js';
import {
  daemonState,
  InfraError,
  isAlive,
  portOpen,
  portsReleased,
  readPid,
  spawnDaemon,
  stopDaemon,
  waitUntil,
} from './process.js';

// The project's own processes (ingest API, stream processors) run locally as daemons like the
// services: own process group, pid file, log file, health-checked through /readyz (can it do its work now).

export interface AppSpec {
  name: string;
  /** towerflow CLI arguments. */
  args: string[];
  port: (cfg: Config) => number;
}

const streamApp = (name: (typeof PROCESSOR_NAMES)[number]): AppSpec => ({
  name: `stream-${name}`,
  args: ['stream', name],
  port: (cfg) => cfg.streamMetricsPortBase + PROCESSOR_NAMES.indexOf(name),
});

export const APPS: readonly AppSpec[] = [
  { name: 'ingest', args: ['ingest'], port: (cfg) => cfg.ingestPort },
  streamApp('history'),
  streamApp('sequence'),
  streamApp('items'),
  streamApp('embeddings'),
  { name: 'serve', args: ['serve'], port: (cfg) => cfg.recallPort },
];

export interface AppPaths {
  pidFile: string;
  logFile: string;
}

export function appPaths(cfg: Config, name: string): AppPaths {
  const run = path.join(cfg.homeDir, 'run');
  const logs = path.join(cfg.homeDir, 'logs');
  mkdirSync(run, { recursive: true });
  mkdirSync(logs, { recursive: true });
  return { pidFile: path.join(run, `app-${name}.pid`), logFile: path.join(logs, `app-${name}.log`) };
}

function select(only: string[] = []): AppSpec[] {
  if (only.length === 0) return [...APPS];
  return only.map((n) => {
    const app = APPS.find((a) => a.name === n || a.name === `stream-${n}`);
    if (!app) throw new Error(`unknown app ${n}; one of ${APPS.map((a) => a.name).join(', ')}`);
    return app;
  });
}

async function healthy(cfg: Config, app: AppSpec): Promise<boolean> {
  const res = await fetch(`http://${cfg.bindHost}:${app.port(cfg)}/readyz`, {
    signal: AbortSignal.timeout(2000),
  });
  return res.ok;
}

/** Starts the apps that are not running and waits until each answers /readyz. */
export async function appsUp(
  cfg: Config,
  only?: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    say?: (m: string) => void;
    timeoutMs?: number;
    /** How long a dead app's port may take to close before it counts as someone else's. */
    portReleaseMs?: number;
  } = {},
): Promise<void> {
  const bin = path.join(cfg.root, 'bin', 'towerflow.js');
  const started: { app: AppSpec; pid: number; logFile: string }[] = [];
  for (const app of select(only)) {
    const p = appPaths(cfg, app.name);
    const state = daemonState(p.pidFile);
    if (state.state === 'running') continue;
    // a dead app's pid file (and anything left in its process group) goes before the restart
    if (state.state === 'dead') {
      await stopDaemon(p.pidFile, 5000);
      await portsReleased([app.port(cfg)], cfg.bindHost, opts.portReleaseMs ?? 10_000);
    }
    // a port held by something else would make the new process die on EADDRINUSE, less clearly
    if (await portOpen(app.port(cfg), cfg.bindHost))
      throw new InfraError({
        service: app.name,
        cause: `${app.name}: port ${app.port(cfg)} on ${cfg.bindHost} is taken by a process towerflow did not start`,
        fix: `stop it (see \`ss -ltnp 'sport = :${app.port(cfg)}'\`) or set the app's port elsewhere`,
      });
    const newPid = spawnDaemon({
      name: app.name,
      command: process.execPath,
      args: [...cfg.appsNodeArgs, bin, ...app.args],
      cwd: cfg.root,
      env: opts.env ?? process.env,
      logFile: p.logFile,
      pidFile: p.pidFile,
    });
    started.push({ app, pid: newPid, logFile: p.logFile });
  }
  for (const s of started) {
    await waitUntil(s.app.name, () => healthy(cfg, s.app), {
      timeoutMs: opts.timeoutMs ?? 60_000,
      pid: s.pid,
      logFile: s.logFile,
    });
    opts.say?.(`${s.app.name}: healthy (pid ${s.pid}, http://${cfg.bindHost}:${s.app.port(cfg)})`);
  }
}

/** Stops apps by pid with SIGTERM (they drain and commit), SIGKILL after the grace period. */
export async function appsDown(cfg: Config, only?: string[], say?: (m: string) => void): Promise<void> {
  for (const app of select(only).reverse()) {
    const r = await stopDaemon(appPaths(cfg, app.name).pidFile, 30_000);
    if (r === 'stopped') say?.(`${app.name}: stopped`);
  }
}

export async function appsStatus(
  cfg: Config,
): Promise<{ name: string; pid?: number; up: boolean; url: string }[]> {
  return Promise.all(
    APPS.map(async (app) => {
      const pid = readPid(appPaths(cfg, app.name).pidFile);
      const alive = pid !== undefined && isAlive(pid);
      const up = alive && (await healthy(cfg, app).catch(() => false));
      return {
        name: app.name,
        pid: alive ? pid : undefined,
        up,
        url: `http://${cfg.bindHost}:${app.port(cfg)}`,
      };
    }),
  );
}
