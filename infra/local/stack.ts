import { existsSync } from 'node:fs';
import { loadConfig } from '../../config/index.js';
import { ExitCode, UserFacingError } from '../../runtime/errors.js';
import { infraScrapeJobs } from './exporters.js';
import { localPaths } from './paths.js';
import {
  daemonState,
  groupRssBytes,
  InfraError,
  isAlive,
  portOpen,
  portsReleased,
  stopDaemon,
  tailFile,
  waitUntil,
} from './process.js';
import { localPassword } from './secrets.js';
import { type LocalService, logFileOf, pidFileOf, type ServiceContext } from './service.js';
import { hbaseService, hbaseThriftService } from './services/hbase.js';
import { kafkaService } from './services/kafka.js';
import { milvusService } from './services/milvus.js';
import { prometheusService } from './services/prometheus.js';
import { redisExporterService, redisService } from './services/redis.js';

/** Start order; `down` goes in reverse. */
export const ALL_SERVICES: readonly LocalService[] = [
  redisService,
  redisExporterService,
  kafkaService,
  hbaseService,
  hbaseThriftService,
  milvusService,
  prometheusService,
];

export function makeContext(
  say: (m: string) => void = (m) => process.stderr.write(`${m}\n`),
): ServiceContext {
  let cfg = loadConfig();
  if (cfg.localAuth === 'on') {
    // the passwords exist before any service starts, and the configuration authenticates with them
    localPassword(cfg, 'redis');
    localPassword(cfg, 'kafka');
    cfg = loadConfig();
  }
  return { cfg, paths: localPaths(cfg), say };
}

export function selectedServices(ctx: ServiceContext, only?: string[]): LocalService[] {
  const wanted = new Set(only?.length ? only : ctx.cfg.localServices);
  for (const name of wanted) {
    if (name !== 'none' && !ALL_SERVICES.some((s) => s.name === name))
      throw new InfraError({
        cause: `unknown service "${name}"`,
        fix: `name one of ${ALL_SERVICES.map((s) => s.name).join(', ')} (arguments or TOWERFLOW_LOCAL_SERVICES)`,
        exitCode: ExitCode.USAGE,
      });
  }
  // a gateway comes with the service it fronts
  return ALL_SERVICES.filter(
    (s) => wanted.has(s.name) || (s.dependsOn !== undefined && wanted.has(s.dependsOn)),
  );
}

export interface ServiceStatus {
  name: string;
  up: boolean;
  pid: number | null;
  ports: number[];
  version: string | null;
  rssBytes: number | null;
  log: string;
}

/** The service's server process, when it is alive (a live helper of a dead server does not count). */
function runningPid(ctx: ServiceContext, svc: LocalService): number | undefined {
  const s = daemonState(pidFileOf(ctx, svc.name));
  return s.state === 'running' ? s.pid : undefined;
}

/**
 * A server killed without `down` leaves its helpers (socat bridges holding its ports, and the
 * network namespace they keep alive) in its process group: end them, so a new start finds its
 * ports free.
 */
async function clearDeadServer(ctx: ServiceContext, svc: LocalService): Promise<void> {
  const pidFile = pidFileOf(ctx, svc.name);
  const s = daemonState(pidFile);
  if (s.state !== 'dead') return;
  if (s.leftovers.length > 0)
    ctx.say(
      `${svc.name}: server (pid ${s.pid}) is gone; ending the ${s.leftovers.length} helper process(es) it left`,
    );
  await stopDaemon(pidFile, 5000);
  await portsReleased(svc.ports(ctx), ctx.cfg.bindHost, 20_000);
}

export async function startOne(
  ctx: ServiceContext,
  svc: LocalService,
): Promise<{ name: string; seconds: number }> {
  const t0 = Date.now();
  await clearDeadServer(ctx, svc);
  const existing = runningPid(ctx, svc);
  if (existing !== undefined) {
    // A server killed a moment ago can still look alive (the kernel is tearing it down); when it
    // dies while we wait for it, it is cleared and started like any dead server.
    const stayedUp = await waitUntil(svc.name, () => svc.healthy(ctx), {
      timeoutMs: svc.startTimeoutMs,
      logFile: logFileOf(ctx, svc.name),
      pid: existing,
    }).then(
      () => true,
      (e: unknown) => {
        if (isAlive(existing)) throw e;
        return false;
      },
    );
    if (stayedUp) {
      ctx.say(`${svc.name}: already running (pid ${existing})`);
      return { name: svc.name, seconds: 0 };
    }
    ctx.say(`${svc.name}: server (pid ${existing}) exited while being checked; starting it again`);
    await clearDeadServer(ctx, svc);
  }
  for (const port of svc.ports(ctx)) {
    if (await portOpen(port, ctx.cfg.bindHost))
      throw new InfraError({
        service: svc.name,
        cause: `${svc.name}: port ${port} on ${ctx.cfg.bindHost} is already taken by a process towerflow did not start`,
        fix: `stop it (see \`ss -ltnp 'sport = :${port}'\`), or point towerflow at it and drop "${svc.name}" from TOWERFLOW_LOCAL_SERVICES`,
      });
  }
  const pid = await svc.start(ctx);
  ctx.say(`${svc.name}: started (pid ${pid}), waiting until healthy…`);
  await waitUntil(svc.name, () => svc.healthy(ctx), {
    timeoutMs: svc.startTimeoutMs,
    logFile: logFileOf(ctx, svc.name),
    pid,
  });
  await svc.afterHealthy?.(ctx);
  const seconds = (Date.now() - t0) / 1000;
  ctx.say(`${svc.name}: healthy after ${seconds.toFixed(1)} s`);
  return { name: svc.name, seconds };
}

/** Provisions (downloads once) and starts the selected services; all health-checked. */
export async function up(ctx: ServiceContext, only?: string[]): Promise<{ name: string; seconds: number }[]> {
  const services = selectedServices(ctx, only);
  for (const svc of services) await svc.provision(ctx);
  // Start in parallel (most of the time is JVM and Go start-up waiting, not CPU), each after
  // the service it depends on.
  const started = new Map<string, Promise<{ name: string; seconds: number }>>();
  for (const svc of services) {
    const dep = svc.dependsOn ? started.get(svc.dependsOn) : undefined;
    const start = () => startOne(ctx, svc).catch((e) => Promise.reject(asServiceFailure(ctx, svc, e)));
    started.set(svc.name, dep ? dep.then(start) : start());
  }
  const results = await Promise.allSettled(started.values());
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) throw startFailure(failures);
  return results.map((r) => (r as PromiseFulfilledResult<{ name: string; seconds: number }>).value);
}

/** A failure of one service's start as an InfraError naming it (and its log, when unexpected). */
function asServiceFailure(ctx: ServiceContext, svc: LocalService, e: unknown): InfraError {
  if (e instanceof InfraError && e.service) return e;
  if (e instanceof UserFacingError)
    return new InfraError({ ...e, cause: e.cause, exitCode: e.exitCode, service: svc.name });
  return new InfraError({
    service: svc.name,
    cause: `${svc.name}: ${String((e as Error)?.message ?? e).split('\n')[0]}`,
    fix: 'the end of its log may say why',
    logPath: logFileOf(ctx, svc.name),
    detail: tailFile(logFileOf(ctx, svc.name)),
  });
}

/**
 * One failed service: its own error (a line, and the end of its log under it). Several: a line
 * naming them, then each one's line and log end, so no service's log drowns the others.
 */
export function startFailure(failures: readonly Error[]): Error {
  const [only] = failures;
  if (only && failures.length === 1) return only;
  const names = failures.map((f) => (f instanceof InfraError && f.service) || 'a service');
  return new InfraError({
    cause: `${failures.length} services did not start (${names.join(', ')})`,
    fix: 'each one’s cause and the end of its log follow; fix them and run `towerflow infra up` again',
    detail: failures
      .map((f) =>
        f instanceof UserFacingError
          ? `${f.message}${f.detail ? `\n${f.detail.replace(/^/gm, '  ')}` : ''}`
          : `${f.message.split('\n')[0]}`,
      )
      .join('\n'),
  });
}

/** Stops, by pid, exactly the processes `up` started. */
export async function down(
  ctx: ServiceContext,
  only?: string[],
): Promise<{ name: string; result: string }[]> {
  const names = only?.length ? new Set(only) : undefined;
  const out: { name: string; result: string }[] = [];
  for (const svc of [...ALL_SERVICES].reverse()) {
    if (names && !names.has(svc.name)) continue;
    const pidFile = pidFileOf(ctx, svc.name);
    if (!existsSync(pidFile)) continue;
    const result = await stopDaemon(pidFile, 30_000, svc.stopSignal);
    ctx.say(`${svc.name}: ${result}`);
    out.push({ name: svc.name, result });
  }
  return out;
}

export async function status(ctx: ServiceContext): Promise<ServiceStatus[]> {
  return Promise.all(
    selectedServices(ctx).map(async (svc) => {
      const pid = runningPid(ctx, svc);
      const up = pid !== undefined && (await svc.healthy(ctx).catch(() => false));
      return {
        name: svc.name,
        up,
        pid: pid ?? null,
        ports: svc.ports(ctx),
        version: up ? await svc.version(ctx).catch(() => null) : null,
        rssBytes: pid !== undefined ? groupRssBytes(pid) : null,
        log: logFileOf(ctx, svc.name),
      };
    }),
  );
}

export interface ExporterStatus {
  /** Prometheus job name. */
  job: string;
  /** The local service whose process serves the endpoint. */
  service: string;
  /** The endpoint answered 200. */
  up: boolean;
  pid: number | null;
  port: number;
  url: string;
}

/** The infrastructure metrics endpoints the local Prometheus scrapes, each fetched once. */
export async function exporterStatus(ctx: ServiceContext): Promise<ExporterStatus[]> {
  const jobs = infraScrapeJobs(ctx.cfg);
  return Promise.all(
    jobs.flatMap((j) =>
      j.targets.map(async (t) => {
        const svc = ALL_SERVICES.find((s) => s.name === j.service);
        const url = `http://${ctx.cfg.bindHost}:${t.port}${j.metricsPath}`;
        const up = await fetch(url, { signal: AbortSignal.timeout(5000) })
          .then(async (r) => {
            await r.arrayBuffer();
            return r.ok;
          })
          .catch(() => false);
        return {
          job: j.job,
          service: j.service,
          up,
          pid: svc ? (runningPid(ctx, svc) ?? null) : null,
          port: t.port,
          url,
        };
      }),
    ),
  );
}
