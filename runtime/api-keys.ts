import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

/**
 * The kinds of API key: ingest (write), recall (read) and operator (read, and the only kind
 * allowed debugging overrides). Each API accepts some kinds and answers 403 to the others.
 */
export type KeyKind = 'ingest' | 'recall' | 'operator';
export const KEY_KINDS: readonly KeyKind[] = ['ingest', 'recall', 'operator'];

export type KeySettings = Pick<Config, 'ingestApiKeys' | 'recallApiKeys' | 'recallOperatorKeys' | 'homeDir'>;

/** Where the generated key of a kind lives when its setting is empty (operators get none). */
export const generatedKeyFile = (cfg: Pick<Config, 'homeDir'>, kind: 'ingest' | 'recall'): string =>
  path.join(cfg.homeDir, `${kind}-api-key`);

const configured = (cfg: KeySettings, kind: KeyKind): string[] =>
  kind === 'ingest' ? cfg.ingestApiKeys : kind === 'recall' ? cfg.recallApiKeys : cfg.recallOperatorKeys;

/**
 * The keys of one kind: its setting (INGEST_API_KEYS, RECALL_API_KEYS, RECALL_OPERATOR_KEYS), or
 * else, for ingest and recall, one random key generated once into `$TOWERFLOW_HOME/<kind>-api-key`
 * (mode 600), never a built-in default. Operator keys are never generated.
 */
export function resolveKeys(cfg: KeySettings, kind: KeyKind): string[] {
  const keys = configured(cfg, kind);
  if (keys.length > 0 || kind === 'operator') return keys;
  const file = generatedKeyFile(cfg, kind);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    // several processes (the APIs, their instances) may start at once: the key is written whole
    // under a name of its own, then linked into place, which only the first does; the others
    // read that one instead of replacing it with theirs
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return [readFileSync(file, 'utf8').trim()];
}

/** The key a client of `kind` sends: the first configured or the generated one. */
export const clientKey = (cfg: KeySettings, kind: 'ingest' | 'recall'): string =>
  resolveKeys(cfg, kind)[0] as string;

export type ApiKeys = Record<KeyKind, string[]>;

/** Every kind's keys: an API must know the others' keys to tell 403 (wrong kind) from 401. */
export const resolveAllKeys = (cfg: KeySettings): ApiKeys => ({
  ingest: resolveKeys(cfg, 'ingest'),
  recall: resolveKeys(cfg, 'recall'),
  operator: resolveKeys(cfg, 'operator'),
});

/** A recognised key: its kind and a stable number (for per-key state such as rate limits). */
export interface KnownKey {
  kind: KeyKind;
  id: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Identifies a presented key among every configured key in constant time: digests make lengths
 * equal for timingSafeEqual, and no comparison stops early. A key listed under two kinds is the
 * first kind's (ingest, recall, operator).
 */
export function makeKeyring(keys: Partial<ApiKeys>): (presented: string | undefined) => KnownKey | undefined {
  const entries = KEY_KINDS.flatMap((kind) => (keys[kind] ?? []).map((k) => ({ kind, digest: digest(k) })));
  return (presented) => {
    if (presented === undefined || presented.length === 0 || presented.length > 512) return undefined;
    const d = digest(presented);
    let found = -1;
    for (let i = entries.length - 1; i >= 0; i--)
      if (timingSafeEqual((entries[i] as { digest: Buffer }).digest, d)) found = i;
    return found < 0 ? undefined : { kind: (entries[found] as { kind: KeyKind }).kind, id: found };
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
