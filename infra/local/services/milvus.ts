import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createMilvus } from '../../../clients/milvus/connection.js';
import { quoteTail } from '../../../runtime/errors.js';
import { EXPORTER_PORTS } from '../exporters.js';
import { requireDebianBinary } from '../prereq.js';
import { InfraError, spawnDaemon } from '../process.js';
import { type LocalService, logFileOf, pidFileOf, portOf, type ServiceContext } from '../service.js';

const run = promisify(execFile);

/** Pinned PyPI requirements per engine (milvus-lite's server imports pymilvus without declaring it). */
export const MILVUS_ENGINES = {
  lite: { requirements: ['milvus-lite==3.2.2', 'pymilvus==3.0.2'], version: 'milvus-lite 3.2.2' },
  standalone: { requirements: ['milvus==2.3.5', 'setuptools<81'], version: 'milvus 2.3.5 standalone' },
} as const;

function venvDir(ctx: ServiceContext): string {
  return path.join(ctx.paths.home, 'venv', `milvus-${ctx.cfg.milvusEngine}`);
}

async function ensureVenv(ctx: ServiceContext): Promise<string> {
  const engine = MILVUS_ENGINES[ctx.cfg.milvusEngine];
  const dir = venvDir(ctx);
  const stamp = path.join(dir, '.towerflow-requirements');
  const want = engine.requirements.join(' ');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return dir;
  ctx.say(`milvus: creating a Python venv with ${want} (first time only)…`);
  try {
    await run(ctx.cfg.python, ['-m', 'venv', dir]);
  } catch (e) {
    throw new InfraError(
      `milvus: could not create a Python venv with ${ctx.cfg.python} (${(e as Error).message.split('\n')[0]}). ` +
        'Install Python 3.11 with venv (Debian: apt-get install python3-venv) or set TOWERFLOW_PYTHON.',
    );
  }
  try {
    await run(
      path.join(dir, 'bin', 'pip'),
      ['install', '--disable-pip-version-check', '--progress-bar', 'off', ...engine.requirements],
      { maxBuffer: 64 << 20 },
    );
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new InfraError({
      service: 'milvus',
      cause: `milvus: pip could not install ${want}`,
      fix: 'a download was refused or there is no wheel for this Python: the end of pip’s output is below',
      detail: quoteTail(err.stderr ?? ''),
    });
  }
  writeFileSync(stamp, `${want}\n`);
  return dir;
}

export const milvusService: LocalService = {
  name: 'milvus',
  startTimeoutMs: 180_000,
  // standalone's internal ports (etcd, coordinators) live inside its network namespace; its
  // metrics port is bridged out like the gRPC port. milvus-lite serves no metrics.
  ports: (ctx) =>
    ctx.cfg.milvusEngine === 'standalone'
      ? [portOf(ctx.cfg.milvusAddress, 19530), EXPORTER_PORTS.milvus]
      : [portOf(ctx.cfg.milvusAddress, 19530)],
  async provision(ctx) {
    if (ctx.cfg.milvusEngine === 'standalone') {
      if (process.getuid?.() !== 0)
        throw new InfraError(
          'milvus: the standalone engine binds every interface, so towerflow runs it in a private network namespace, which needs root. Run as root or use MILVUS_ENGINE=lite.',
        );
      requireDebianBinary('/usr/bin/socat', 'socat');
      requireDebianBinary('/usr/bin/unshare', 'util-linux');
      requireDebianBinary('/usr/sbin/ip', 'iproute2');
    }
    await ensureVenv(ctx);
  },
  async start(ctx) {
    const venv = await ensureVenv(ctx);
    const data = path.join(ctx.paths.data, `milvus-${ctx.cfg.milvusEngine}`);
    mkdirSync(data, { recursive: true });
    const port = String(portOf(ctx.cfg.milvusAddress, 19530));
    if (ctx.cfg.milvusEngine === 'lite') {
      return spawnDaemon({
        name: 'milvus',
        command: path.join(venv, 'bin', 'milvus-lite'),
        args: [
          'server',
          '--data-dir',
          data,
          '--host',
          ctx.cfg.bindHost,
          '--port',
          port,
          '--max-workers',
          '16',
        ],
        logFile: logFileOf(ctx, 'milvus'),
        pidFile: pidFileOf(ctx, 'milvus'),
      });
    }
    return spawnDaemon({
      name: 'milvus',
      command: path.join(ctx.cfg.root, 'infra', 'local', 'milvus', 'run_standalone.sh'),
      args: [path.join(venv, 'bin', 'python'), data, port, ctx.cfg.bindHost, String(EXPORTER_PORTS.milvus)],
      logFile: logFileOf(ctx, 'milvus'),
      pidFile: pidFileOf(ctx, 'milvus'),
    });
  },
  async healthy(ctx) {
    const client = createMilvus(ctx.cfg, 2000);
    try {
      const h = await client.checkHealth();
      return Boolean(h.isHealthy);
    } finally {
      await client.closeConnection().catch(() => {});
    }
  },
  async version(ctx) {
    return MILVUS_ENGINES[ctx.cfg.milvusEngine].version;
  },
};
