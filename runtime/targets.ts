import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

type TargetSettings = Pick<Config, 'homeDir' | 'prometheusTargetsDir' | 'kafkaClientId'>;

/**
 * The file_sd target file of one process: one per process name and address, so that several
 * instances of a process, and several stacks, can share one Prometheus.
 */
export function targetFile(
  cfg: Omit<TargetSettings, 'kafkaClientId'>,
  name: string,
  address: string,
): string {
  const dir = cfg.prometheusTargetsDir
    ? path.resolve(cfg.homeDir, cfg.prometheusTargetsDir)
    : path.join(cfg.homeDir, 'run', 'targets');
  return path.join(dir, `${name}-${address.replace(/[^A-Za-z0-9.]/g, '_')}.json`);
}

/**
 * Announces a process's /metrics endpoint to the local Prometheus, which reads file_sd target
 * files from `$TOWERFLOW_HOME/run/targets/` (or PROMETHEUS_TARGETS_DIR). Returns a function that withdraws it.
 */
export function announceTarget(
  cfg: TargetSettings,
  name: string,
  address: string,
  labels: Record<string, string> = {},
): () => void {
  const file = targetFile(cfg, name, address);
  mkdirSync(path.dirname(file), { recursive: true });
  // `stack`: which deployment the process belongs to (its KAFKA_CLIENT_ID), so that dashboards
  // and checks can tell apart several stacks that share one Prometheus
  const all = { process: name, stack: cfg.kafkaClientId, ...labels };
  writeFileSync(file, `${JSON.stringify([{ targets: [address], labels: all }])}\n`);
  return () => withdrawTarget(cfg, name, address);
}

/** Removes a process's target file: what it does on exit, and what its manager does after a `kill -9`. */
export function withdrawTarget(
  cfg: Omit<TargetSettings, 'kafkaClientId'>,
  name: string,
  address: string,
): void {
  rmSync(targetFile(cfg, name, address), { force: true });
}
