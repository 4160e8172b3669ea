import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

/**
 * Announces a process's /metrics endpoint to the local Prometheus, which reads file_sd target
 * files from `$TOWERFLOW_HOME/run/targets/`. Returns a function that withdraws it.
 */
export function announceTarget(
  cfg: Pick<Config, 'homeDir'>,
  name: string,
  address: string,
  labels: Record<string, string> = {},
): () => void {
  const dir = path.join(cfg.homeDir, 'run', 'targets');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify([{ targets: [address], labels: { process: name, ...labels } }])}\n`);
  return () => rmSync(file, { force: true });
}
