import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError } from '../config/index.js';
import { type KeyEntry, parseKeyEntry, type UserScope } from './key-scope.js';

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

const SETTING_OF: Record<KeyKind, string> = {
  ingest: 'INGEST_API_KEYS',
  recall: 'RECALL_API_KEYS',
  operator: 'RECALL_OPERATOR_KEYS',
};

/** The entries of one kind, each `KEY` or `KEY;users=SCOPE`; a bad one is a ConfigError naming its position. */
export function keyEntries(cfg: KeySettings, kind: KeyKind): KeyEntry[] {
  return resolveKeys(cfg, kind).map((entry, i) => {
    try {
      return parseKeyEntry(entry, `${SETTING_OF[kind]} entry ${i + 1}`);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
  });
}

/** The key a client of `kind` sends: the first configured or the generated one. */
export const clientKey = (cfg: KeySettings, kind: 'ingest' | 'recall'): string =>
  (keyEntries(cfg, kind)[0] as KeyEntry).key;

export type ApiKeys = Record<KeyKind, (string | KeyEntry)[]>;

/** Every kind's keys: an API must know the others' keys to tell 403 (wrong kind) from 401. */
export const resolveAllKeys = (cfg: KeySettings): ApiKeys => ({
  ingest: keyEntries(cfg, 'ingest'),
  recall: keyEntries(cfg, 'recall'),
  operator: keyEntries(cfg, 'operator'),
});

/** A recognised key: its kind, a stable number (for per-key state such as rate limits), its users. */
export interface KnownKey {
  kind: KeyKind;
  id: number;
  /** Set when the key may act only for some users. */
  users?: UserScope;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Identifies a presented key among every configured key in constant time: digests make lengths
 * equal for timingSafeEqual, and no comparison stops early. A key listed under two kinds is the
 * first kind's (ingest, recall, operator).
 */
export function makeKeyring(keys: Partial<ApiKeys>): (presented: string | undefined) => KnownKey | undefined {
  const entries = KEY_KINDS.flatMap((kind) =>
    (keys[kind] ?? []).map((k) => {
      const e = typeof k === 'string' ? { key: k } : k;
      return { kind, digest: digest(e.key), users: e.users };
    }),
  );
  return (presented) => {
    if (presented === undefined || presented.length === 0 || presented.length > 512) return undefined;
    const d = digest(presented);
    let found = -1;
    for (let i = entries.length - 1; i >= 0; i--)
      if (timingSafeEqual((entries[i] as { digest: Buffer }).digest, d)) found = i;
    if (found < 0) return undefined;
    const e = entries[found] as (typeof entries)[number];
    return e.users ? { kind: e.kind, id: found, users: e.users } : { kind: e.kind, id: found };
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
