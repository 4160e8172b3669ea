import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PARTITION_SETTING } from '../../clients/kafka/topics.js';
import type { Config } from '../../config/index.js';
import { SETTINGS } from '../../config/settings.js';
import { ExitCode, UserFacingError } from '../../runtime/errors.js';
import { withdrawTarget } from '../../runtime/targets.js';
import { PROCESSOR_NAMES, PROCESSOR_ROLES, type ProcessorName } from '../../streams/runtime.js';
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

// The project's own processes (ingest API, stream processors, recall API) run locally as daemons
// like the services: own process group, pid file, log file, health-checked through /readyz (can
// it do its work now). Each app may run as several instances: instance 0 keeps the app's name,
// files and port; instance i is `NAME-i`, with its own pid and log file, on the instance-0 port
// plus i × APPS_INSTANCE_PORT_STEP. The pid files are the record of which instances exist.

export interface AppSpec {
  name: string;
  /** towerflow CLI arguments. */
  args: string[];
  /** Port of instance 0. */
  port: (cfg: Config) => number;
  /** The settings that put instance i (i ≥ 1) on its own port. */
  portEnv: (cfg: Config, instance: number) => Record<string, string>;
  /** Stream processors: the consumer group whose partitions the instances share. */
  processor?: ProcessorName;
}

const step = (cfg: Config, instance: number): number => instance * cfg.appsInstancePortStep;

const streamApp = (name: ProcessorName): AppSpec => ({
  name: `stream-${name}`,
  args: ['stream', name],
  port: (cfg) => cfg.streamMetricsPortBase + PROCESSOR_NAMES.indexOf(name),
  // every processor's port hangs off one base: an instance moves the base
  portEnv: (cfg, i) => ({
    [SETTINGS.streamMetricsPortBase.env]: String(cfg.streamMetricsPortBase + step(cfg, i)),
  }),
  processor: name,
});

export const APPS: readonly AppSpec[] = [
  {
    name: 'ingest',
    args: ['ingest'],
    port: (cfg) => cfg.ingestPort,
    portEnv: (cfg, i) => ({ [SETTINGS.ingestPort.env]: String(cfg.ingestPort + step(cfg, i)) }),
  },
  streamApp('history'),
  streamApp('sequence'),
  streamApp('items'),
  streamApp('embeddings'),
  streamApp('experiments'),
  {
    name: 'serve',
    args: ['serve'],
    port: (cfg) => cfg.recallPort,
    portEnv: (cfg, i) => ({ [SETTINGS.recallPort.env]: String(cfg.recallPort + step(cfg, i)) }),
  },
];

/** One instance of an app. */
export interface AppInstance {
  app: AppSpec;
  index: number;
  /** The app's name for instance 0, `NAME-i` for the others (pid, log and target files). */
  name: string;
  port: number;
}

export function instanceOf(cfg: Config, app: AppSpec, index: number): AppInstance {
  return {
    app,
    index,
    name: index === 0 ? app.name : `${app.name}-${index}`,
    port: app.port(cfg) + step(cfg, index),
  };
}

export interface AppPaths {
  pidFile: string;
  logFile: string;
}

/** Pid and log file of an app's instance (`app-NAME.pid`, `app-NAME-i.pid`, logs alike). */
export function appPaths(cfg: Config, name: string, index = 0): AppPaths {
  const app = findApp(name);
  const instance = index === 0 ? app.name : `${app.name}-${index}`;
  const run = path.join(cfg.homeDir, 'run');
  const logs = path.join(cfg.homeDir, 'logs');
  mkdirSync(run, { recursive: true });
  mkdirSync(logs, { recursive: true });
  return { pidFile: path.join(run, `app-${instance}.pid`), logFile: path.join(logs, `app-${instance}.log`) };
}

/** An app by its name, or a processor's without the `stream-` prefix. */
export function findApp(name: string): AppSpec {
  const app = APPS.find((a) => a.name === name || a.name === `stream-${name}`);
  if (!app)
    throw new UserFacingError({
      cause: `unknown app ${name}`,
      fix: `name one of ${APPS.map((a) => a.name).join(', ')}`,
      exitCode: ExitCode.USAGE,
    });
  return app;
}

function select(only: string[] = []): AppSpec[] {
  return only.length === 0 ? [...APPS] : only.map(findApp);
}

/** Indexes of an app's instances that have a pid file (running, or dead and not stopped), ascending. */
export function knownInstances(cfg: Config, app: AppSpec): number[] {
  const run = path.join(cfg.homeDir, 'run');
  const out = new Set<number>();
  let files: string[] = [];
  try {
    files = readdirSync(run);
  } catch {
    return [];
  }
  for (const f of files) {
    if (f === `app-${app.name}.pid`) out.add(0);
    else if (f.startsWith(`app-${app.name}-`)) {
      const m = /^(\d+)\.pid$/.exec(f.slice(`app-${app.name}-`.length));
      if (m) out.add(Number(m[1]));
    }
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * How many instances of a stream processor can each hold a partition: the partitions of its
 * topics in all (the consumers' round-robin assignment spreads them over the instances). One more
 * would get nothing and never become ready. Undefined for the APIs, which hold no partitions.
 */
export function partitionCeiling(
  cfg: Config,
  app: AppSpec,
): { instances: number; settings: string[] } | undefined {
  if (!app.processor) return undefined;
  const roles = PROCESSOR_ROLES[app.processor];
  return {
    instances: roles.reduce((n, role) => n + cfg[PARTITION_SETTING[role]], 0),
    settings: roles.map((role) => `${SETTINGS[PARTITION_SETTING[role]].env}=${cfg[PARTITION_SETTING[role]]}`),
  };
}

/** Refuses instance counts the ports or the partitions cannot hold, naming the setting to change. */
function checkInstances(cfg: Config, app: AppSpec, count: number, highest: number): void {
  const ceiling = partitionCeiling(cfg, app);
  if (ceiling && count > ceiling.instances)
    throw new UserFacingError({
      cause: `${app.name}: ${count} instances, but its topics have ${ceiling.instances} partitions in all (${ceiling.settings.join(', ')}); an instance beyond that would get no partition and never become ready`,
      fix: 'run at most that many, or create the topics with more partitions first (docs/deployment.md, "Scaling out")',
      exitCode: ExitCode.USAGE,
    });
  const last = instanceOf(cfg, app, highest).port;
  if (last > 65_535)
    throw new UserFacingError({
      cause: `${app.name}: instance ${highest} would listen on port ${last}, beyond 65535`,
      fix: `run fewer instances or lower ${SETTINGS.appsInstancePortStep.env}`,
      exitCode: ExitCode.USAGE,
    });
}

async function healthy(cfg: Config, inst: AppInstance): Promise<boolean> {
  const res = await fetch(`http://${cfg.bindHost}:${inst.port}/readyz`, {
    signal: AbortSignal.timeout(2000),
  });
  return res.ok;
}

export interface UpOptions {
  env?: NodeJS.ProcessEnv;
  say?: (m: string) => void;
  timeoutMs?: number;
  /** How long a dead app's port may take to close before it counts as someone else's. */
  portReleaseMs?: number;
}

/** Starts the instances that are not running (a dead one is cleaned up first), then waits until each answers /readyz. */
async function startInstances(cfg: Config, list: AppInstance[], opts: UpOptions): Promise<void> {
  const bin = path.join(cfg.root, 'bin', 'towerflow.js');
  const started: { inst: AppInstance; pid: number; logFile: string }[] = [];
  for (const inst of list) {
    const p = appPaths(cfg, inst.app.name, inst.index);
    const state = daemonState(p.pidFile);
    if (state.state === 'running') continue;
    // a dead instance's pid file (and anything left in its process group, and the target file a
    // `kill -9` left behind) goes before the restart
    if (state.state === 'dead') {
      await stopDaemon(p.pidFile, 5000);
      withdrawTarget(cfg, inst.app.name, `${cfg.bindHost}:${inst.port}`);
      await portsReleased([inst.port], cfg.bindHost, opts.portReleaseMs ?? 10_000);
    }
    // a port held by something else would make the new process die on EADDRINUSE, less clearly
    if (await portOpen(inst.port, cfg.bindHost))
      throw new InfraError({
        service: inst.name,
        cause: `${inst.name}: port ${inst.port} on ${cfg.bindHost} is taken by a process towerflow did not start`,
        fix: `stop it (see \`ss -ltnp 'sport = :${inst.port}'\`) or set the app's port elsewhere`,
      });
    const newPid = spawnDaemon({
      name: inst.name,
      command: process.execPath,
      args: [...cfg.appsNodeArgs, bin, ...inst.app.args],
      cwd: cfg.root,
      env: { ...(opts.env ?? process.env), ...(inst.index > 0 ? inst.app.portEnv(cfg, inst.index) : {}) },
      logFile: p.logFile,
      pidFile: p.pidFile,
    });
    started.push({ inst, pid: newPid, logFile: p.logFile });
  }
  for (const s of started) {
    await waitUntil(s.inst.name, () => healthy(cfg, s.inst), {
      timeoutMs: opts.timeoutMs ?? 60_000,
      pid: s.pid,
      logFile: s.logFile,
    });
    opts.say?.(`${s.inst.name}: healthy (pid ${s.pid}, http://${cfg.bindHost}:${s.inst.port})`);
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * Starts what is not running of each app: instances 0 … `instances`−1 (default 1), and every
 * other instance that has a pid file (one that died comes back). Waits until each answers /readyz.
 */
export async function appsUp(
  cfg: Config,
  only?: string[],
  opts: UpOptions & { instances?: number } = {},
): Promise<void> {
  const list: AppInstance[] = [];
  for (const app of select(only)) {
    const want = [...new Set([...range(opts.instances ?? 1), ...knownInstances(cfg, app)])].sort(
      (a, b) => a - b,
    );
    checkInstances(cfg, app, want.length, want.at(-1) ?? 0);
    for (const i of want) list.push(instanceOf(cfg, app, i));
  }
  await startInstances(cfg, list, opts);
}

/** Starts one instance of an app if it is not running, and waits until it is ready. */
export async function instanceUp(
  cfg: Config,
  name: string,
  index: number,
  opts: UpOptions = {},
): Promise<void> {
  const app = findApp(name);
  const count = new Set([...knownInstances(cfg, app), index]).size;
  checkInstances(cfg, app, count, Math.max(index, ...knownInstances(cfg, app)));
  await startInstances(cfg, [instanceOf(cfg, app, index)], opts);
}

/**
 * Stops one instance by pid with SIGTERM (it drains and commits; a stream processor leaves its
 * group, which hands its partitions to the others at once), SIGKILL after the grace period.
 */
export async function instanceDown(
  cfg: Config,
  name: string,
  index: number,
): Promise<'stopped' | 'not-running'> {
  const inst = instanceOf(cfg, findApp(name), index);
  const r = await stopDaemon(appPaths(cfg, inst.app.name, index).pidFile, 30_000);
  withdrawTarget(cfg, inst.app.name, `${cfg.bindHost}:${inst.port}`);
  return r;
}

/**
 * Runs exactly `count` instances of an app: stops those at index `count` and above (highest
 * first, gracefully), then starts what is missing below it.
 */
export async function appsScale(
  cfg: Config,
  name: string,
  count: number,
  opts: UpOptions = {},
): Promise<void> {
  const app = findApp(name);
  if (!Number.isInteger(count) || count < 1)
    throw new UserFacingError({
      cause: `instances must be a whole number of at least 1, got ${count}`,
      fix: `\`towerflow apps down ${app.name}\` stops every instance`,
      exitCode: ExitCode.USAGE,
    });
  checkInstances(cfg, app, count, count - 1);
  for (const i of knownInstances(cfg, app).reverse())
    if (i >= count && (await instanceDown(cfg, app.name, i)) === 'stopped')
      opts.say?.(`${instanceOf(cfg, app, i).name}: stopped`);
  await startInstances(
    cfg,
    range(count).map((i) => instanceOf(cfg, app, i)),
    opts,
  );
}

/** Stops every instance of the apps by pid with SIGTERM (they drain and commit), SIGKILL after the grace period. */
export async function appsDown(cfg: Config, only?: string[], say?: (m: string) => void): Promise<void> {
  for (const app of select(only).reverse())
    for (const i of [...new Set([0, ...knownInstances(cfg, app)])].reverse())
      if ((await instanceDown(cfg, app.name, i)) === 'stopped')
        say?.(`${instanceOf(cfg, app, i).name}: stopped`);
}

export interface InstanceStatus {
  /** The instance's name: the app's for instance 0, `NAME-i` for the others. */
  name: string;
  app: string;
  instance: number;
  pid?: number;
  up: boolean;
  url: string;
}

/** Every instance of every app: instance 0 always, the others while they have a pid file. */
export async function appsStatus(cfg: Config): Promise<InstanceStatus[]> {
  const list = APPS.flatMap((app) =>
    [...new Set([0, ...knownInstances(cfg, app)])].map((i) => instanceOf(cfg, app, i)),
  );
  return Promise.all(
    list.map(async (inst) => {
      const pid = readPid(appPaths(cfg, inst.app.name, inst.index).pidFile);
      const alive = pid !== undefined && isAlive(pid);
      const up = alive && (await healthy(cfg, inst).catch(() => false));
      return {
        name: inst.name,
        app: inst.app.name,
        instance: inst.index,
        pid: alive ? pid : undefined,
        up,
        url: `http://${cfg.bindHost}:${inst.port}`,
      };
    }),
  );
}
