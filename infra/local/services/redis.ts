import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { requireDebianBinary } from '../prereq.js';
import { spawnDaemon } from '../process.js';
import { type LocalService, logFileOf, pidFileOf, portOf, type ServiceContext } from '../service.js';

const run = promisify(execFile);
const BINARY = '/usr/bin/redis-server';

async function ping(ctx: ServiceContext): Promise<string | undefined> {
  const client = new Redis(ctx.cfg.redisUrl, {
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
