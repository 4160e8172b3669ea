import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Config, localSecretFile } from '../../config/index.js';

/**
 * The local stack's password for a service (TOWERFLOW_LOCAL_AUTH=on): generated once, 32 random
 * bytes as hex, into a mode-600 file under `$TOWERFLOW_HOME/secrets/`, which every process of
 * the checkout reads (config/index.ts). Never passed on a command line, where `ps` shows it.
 */
export function localPassword(cfg: Pick<Config, 'homeDir'>, service: 'redis' | 'kafka'): string {
  const file = localSecretFile(cfg, service);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // `wx`: two `infra up` at once cannot write two different passwords
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** A private file (mode 600) for a service's generated configuration that holds a secret. */
export function writePrivate(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}
