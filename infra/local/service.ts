import type { Config } from '../../config/index.js';
import type { LocalPaths } from './paths.js';

export interface ServiceContext {
  cfg: Config;
  paths: LocalPaths;
  /** Progress and notes for the operator (stderr). */
  say: (msg: string) => void;
}

/** One locally provisioned real service (Kafka, HBase, Redis, Milvus, Prometheus). */
export interface LocalService {
  readonly name: string;
  /** Another service that must be healthy before this one starts; selected along with it. */
  readonly dependsOn?: string;
  /** Loopback ports the service binds; checked free before start. */
  ports(ctx: ServiceContext): number[];
  /** Verifies prerequisites and downloads what is missing (cached); idempotent. */
  provision(ctx: ServiceContext): Promise<void>;
  /** Starts the process in the background and returns its pid (also written to its pid file). */
  start(ctx: ServiceContext): Promise<number>;
  /** True once the service answers real requests. */
  healthy(ctx: ServiceContext): Promise<boolean>;
  readonly startTimeoutMs: number;
  /** Signal for a graceful stop (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
  /** Runs once after the service first becomes healthy in an `up` (e.g. topic creation). */
  afterHealthy?(ctx: ServiceContext): Promise<void>;
  /** Version string reported by the running service (or its binary). */
  version(ctx: ServiceContext): Promise<string>;
}

export function pidFileOf(ctx: ServiceContext, name: string): string {
  return `${ctx.paths.run}/${name}.pid`;
}

export function logFileOf(ctx: ServiceContext, name: string): string {
  return `${ctx.paths.logs}/${name}.log`;
}

/** Port of a `host:port` address or URL. */
export function portOf(address: string, fallback: number): number {
  const m = /:(\d+)(?:\/|$)/.exec(address.replace(/^[a-z]+:\/\//, ''));
  return m?.[1] ? Number(m[1]) : fallback;
}
