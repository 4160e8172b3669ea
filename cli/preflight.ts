import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { portOpen } from '../infra/local/process.js';
import { ExitCode, UserFacingError } from '../runtime/errors.js';

/** A service a one-shot command needs, where the configuration says it is. */
export interface Needed {
  /** As the user knows it. */
  label: string;
  /** `host:port` candidates; one answering is enough (Kafka's bootstrap list). */
  addresses: string[];
  /** The setting that points at it. */
  setting: string;
  /** Its name in TOWERFLOW_LOCAL_SERVICES, and the log `infra up` writes for it. */
  local: string;
  log: string;
}

export type ServiceName = 'redis' | 'kafka' | 'hbase' | 'milvus';

/** Where each service is, from the configuration. */
export function neededServices(cfg: Config): Record<ServiceName, Needed> {
  const redis = new URL(cfg.redisUrl);
  return {
    redis: {
      label: 'Redis',
      addresses: [`${redis.hostname}:${redis.port || 6379}`],
      setting: 'REDIS_URL',
      local: 'redis',
      log: 'redis',
    },
    kafka: {
      label: 'Kafka',
      addresses: cfg.kafkaBrokers,
      setting: 'KAFKA_BROKERS',
      local: 'kafka',
      log: 'kafka',
    },
    hbase: {
      label: 'the HBase Thrift2 gateway',
      addresses: [cfg.hbaseThriftAddress],
      setting: 'HBASE_THRIFT_ADDRESS',
      local: 'hbase',
      log: 'hbase-thrift',
    },
    milvus: {
      label: 'Milvus',
      addresses: [cfg.milvusAddress],
      setting: 'MILVUS_ADDRESS',
      local: 'milvus',
      log: 'milvus',
    },
  };
}

/** True when something accepts a TCP connection at `host:port` within `timeoutMs`. */
export function accepts(address: string, timeoutMs = 2000): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
  return portOpen(Number(address.slice(i + 1)), host, timeoutMs);
}

/** The one-line error for a service that does not answer. */
export function unreachable(cfg: Config, s: Needed): UserFacingError {
  const isLocal = cfg.localServices.includes(s.local);
  const log = path.join(cfg.homeDir, 'logs', `${s.log}.log`);
  return new UserFacingError({
    cause: `${s.label} at ${s.addresses.join(',')} is not reachable`,
    fix: isLocal
      ? `run \`towerflow infra up\`, or set ${s.setting} to where it runs`
      : `start it, or set ${s.setting} to where it runs`,
    ...(isLocal && existsSync(log) ? { logPath: log } : {}),
    exitCode: ExitCode.UNAVAILABLE,
  });
}

/**
 * Checks, before a one-shot command connects its clients, that each service it needs accepts
 * connections: a down service then fails in one line naming it and its setting, not in a
 * client's retry loop or stack trace. Checked together, reported in the given order.
 */
export async function requireServices(cfg: Config, names: readonly ServiceName[]): Promise<void> {
  const all = neededServices(cfg);
  const answers = await Promise.all(
    names.map(async (n) => (await Promise.all(all[n].addresses.map((a) => accepts(a)))).some(Boolean)),
  );
  const down = names.find((_, i) => !answers[i]);
  if (down !== undefined) throw unreachable(cfg, all[down]);
}

/** The ingest API `replay` posts to accepts connections (else one line, before the dataset loads). */
export async function requireIngestApi(baseUrl: string): Promise<void> {
  const url = new URL(baseUrl);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (!(await accepts(`${url.hostname}:${port}`)))
    throw new UserFacingError({
      cause: `the ingest API at ${baseUrl} is not reachable`,
      fix: 'start it with `towerflow apps up ingest`, or pass its address with --url',
      exitCode: ExitCode.UNAVAILABLE,
    });
}
