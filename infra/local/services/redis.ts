import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { redisAuth } from '../../../clients/redis.js';
import { type Config, LOCAL_SERVICE_USER } from '../../../config/index.js';
import { EXPORTER_PORTS } from '../exporters.js';
import { requireDebianBinary } from '../prereq.js';
import { spawnDaemon } from '../process.js';
import { localPassword, writePrivate } from '../secrets.js';
import { type LocalService, logFileOf, pidFileOf, portOf, type ServiceContext } from '../service.js';

const run = promisify(execFile);
const BINARY = '/usr/bin/redis-server';
const EXPORTER_BINARY = '/usr/bin/prometheus-redis-exporter';

async function ping(ctx: ServiceContext): Promise<string | undefined> {
  const client = new Redis(ctx.cfg.redisUrl, {
    ...redisAuth(ctx.cfg),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1];
  } finally {
    client.disconnect();
  }
}

/**
 * The ACL file of the local server with TOWERFLOW_LOCAL_AUTH=on: the `default` user off (no
 * unauthenticated access at all) and the project's user with every command and key, its
 * password stored as SHA-256 so that the file never holds it in clear.
 */
export function redisAclFile(password: string): string {
  const digest = createHash('sha256').update(password).digest('hex');
  return `user default off\nuser ${LOCAL_SERVICE_USER} on #${digest} ~* &* +@all\n`;
}

/** The arguments that turn the ACL file on (none without local auth). */
function aclArgs(ctx: ServiceContext): string[] {
  if (ctx.cfg.localAuth !== 'on') return [];
  const file = path.join(ctx.paths.run, 'redis-users.acl');
  writePrivate(file, redisAclFile(localPassword(ctx.cfg, 'redis')));
  return ['--aclfile', file];
}

/** The exporter's credentials, in its environment (not its command line, which `ps` shows). */
export function exporterAuthEnv(cfg: Config): Record<string, string> {
  if (!cfg.redisPassword) return {};
  return { REDIS_USER: cfg.redisUsername, REDIS_PASSWORD: cfg.redisPassword };
}

export const redisService: LocalService = {
  name: 'redis',
  startTimeoutMs: 15_000,
  ports: (ctx) => [portOf(ctx.cfg.redisUrl, 6379)],
  async provision() {
    requireDebianBinary(BINARY, 'redis-server');
  },
  async start(ctx) {
    const dir = path.join(ctx.paths.data, 'redis');
    mkdirSync(dir, { recursive: true });
    return spawnDaemon({
      name: 'redis',
      command: BINARY,
      // AOF keeps the demo's state across restarts; fsync once a second is Redis' own default trade-off.
      args: [
        '--bind',
        ctx.cfg.bindHost,
        '--port',
        String(this.ports(ctx)[0]),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--protected-mode',
        'yes',
        // the seen sets (stores/seen) stay 4-byte intsets up to this many items a user, not ~50-byte hash tables
        '--set-max-intset-entries',
        '16384',
        ...aclArgs(ctx),
      ],
      logFile: logFileOf(ctx, 'redis'),
      pidFile: pidFileOf(ctx, 'redis'),
    });
  },
  async healthy(ctx) {
    return (await ping(ctx)) !== undefined;
  },
  async version(ctx) {
    const v = await ping(ctx).catch(() => undefined);
    if (v) return v;
    const { stdout } = await run(BINARY, ['--version']);
    return /v=(\S+)/.exec(stdout)?.[1] ?? 'unknown';
  },
};

async function exporterMetrics(ctx: ServiceContext): Promise<string> {
  // generous: `infra status` builds the other services' clients at the same time, which blocks
  // the event loop for over a second (the Milvus SDK loads its protos synchronously)
  const res = await fetch(`http://${ctx.cfg.bindHost}:${EXPORTER_PORTS.redis}/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`redis-exporter: HTTP ${res.status}`);
  return res.text();
}

/**
 * Debian's prometheus-redis-exporter, a service of its own next to Redis (started along with it):
 * a separate Go process with its own pid file, log and health check, which reconnects when Redis
 * restarts, and which `infra down redis-exporter` can stop or restart without touching the data.
 */
export const redisExporterService: LocalService = {
  name: 'redis-exporter',
  dependsOn: 'redis',
  startTimeoutMs: 15_000,
  ports: () => [EXPORTER_PORTS.redis],
  async provision() {
    requireDebianBinary(EXPORTER_BINARY, 'prometheus-redis-exporter');
  },
  async start(ctx) {
    return spawnDaemon({
      name: 'redis-exporter',
      command: EXPORTER_BINARY,
      args: [
        // the server only: the database number of REDIS_URL is no concern of the exporter, which reports every db
        '-redis.addr',
        `redis://${ctx.cfg.bindHost}:${portOf(ctx.cfg.redisUrl, 6379)}`,
        '-web.listen-address',
        `${ctx.cfg.bindHost}:${EXPORTER_PORTS.redis}`,
        // Redis' metrics only, not the exporter's own Go runtime
        '-redis-only-metrics',
      ],
      env: { ...process.env, ...exporterAuthEnv(ctx.cfg) },
      logFile: logFileOf(ctx, 'redis-exporter'),
      pidFile: pidFileOf(ctx, 'redis-exporter'),
    });
  },
  // healthy once it answers and reaches Redis
  async healthy(ctx) {
    return /^redis_up 1$/m.test(await exporterMetrics(ctx));
  },
  async version() {
    // it logs its version (to stderr) and exits
    const { stdout, stderr } = await run(EXPORTER_BINARY, ['-version']);
    return /Redis Metrics Exporter (\S+)/.exec(stdout + stderr)?.[1] ?? 'unknown';
  },
};
