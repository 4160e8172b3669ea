import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/index.js';

/** Layout of the ignored local-state folder (TOWERFLOW_HOME). */
export interface LocalPaths {
  home: string;
  /** Downloaded artifacts (jar sets, wheels) that survive `infra down`. */
  cache: string;
  /** Per-service data directories. */
  data: string;
  logs: string;
  /** Pid files and generated runtime configuration. */
  run: string;
  /** Prometheus file_sd target files written by the project's processes. */
  targets: string;
}

export function localPaths(cfg: Config): LocalPaths {
  const home = cfg.homeDir;
  const p: LocalPaths = {
    home,
    cache: path.join(home, 'cache'),
    data: path.join(home, 'data'),
    logs: path.join(home, 'logs'),
    run: path.join(home, 'run'),
    targets: path.join(home, 'run', 'targets'),
  };
  for (const dir of Object.values(p)) mkdirSync(dir, { recursive: true });
  return p;
}
