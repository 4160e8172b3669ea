import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

/**
 * Announces a process's /metrics endpoint to the local Prometheus, which reads file_sd target
 * files from `$TOWERFLOW_HOME/run/targets/` (or PROMETHEUS_TARGETS_DIR). Returns a function that withdraws it.
 */
export function announceTarget(
  cfg: Pick<Config, 'homeDir' | 'prometheusTargetsDir' | 'kafkaClientId'>,
  name: string,
  address: string,
  labels: Record<string, string> = {},
): () => void {
  const dir = cfg.prometheusTargetsDir
    ? path.resolve(cfg.homeDir, cfg.prometheusTargetsDir)
    : path.join(cfg.homeDir, 'run', 'targets');
  mkdirSync(dir, { recursive: true });
  // one file per process and address, so that several stacks can share one Prometheus
  const file = path.join(dir, `${name}-${address.replace(/[^A-Za-z0-9.]/g, '_')}.json`);
  // `stack`: which deployment the process belongs to (its KAFKA_CLIENT_ID), so that dashboards
  // and checks can tell apart several stacks that share one Prometheus
  const all = { process: name, stack: cfg.kafkaClientId, ...labels };
  writeFileSync(file, `${JSON.stringify([{ targets: [address], labels: all }])}\n`);
  return () => rmSync(file, { force: true });
}
