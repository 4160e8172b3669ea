import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

/** Where the generated key lives when INGEST_API_KEYS is empty. */
export const generatedKeyFile = (cfg: Pick<Config, 'homeDir'>): string =>
  path.join(cfg.homeDir, 'ingest-api-key');

/**
 * The keys producers may present: INGEST_API_KEYS, or else one random key generated once into
 * `$TOWERFLOW_HOME/ingest-api-key` (mode 600), never a built-in default.
 */
export function resolveApiKeys(cfg: Pick<Config, 'ingestApiKeys' | 'homeDir'>): string[] {
  if (cfg.ingestApiKeys.length > 0) return cfg.ingestApiKeys;
  const file = generatedKeyFile(cfg);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return [readFileSync(file, 'utf8').trim()];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Compares a presented key with every configured key in constant time: digests make lengths
 * equal for timingSafeEqual, and no comparison stops early.
 */
export function makeKeyChecker(keys: string[]): (presented: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (presented) => {
    if (presented === undefined || presented.length === 0 || presented.length > 512) return false;
    const d = digest(presented);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(k, d) || ok;
    return ok;
  };
}

/** The key from `Authorization: Bearer KEY` or `X-Api-Key: KEY`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  // the auth scheme is case-insensitive (RFC 9110 §11.1)
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}
