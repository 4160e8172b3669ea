import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/index.js';
import { clientKey, keyEntries, makeKeyring } from '../../../runtime/api-keys.js';
import { parseKeyEntry, UserScope } from '../../../runtime/key-scope.js';

describe('user scopes of keys', () => {
  it('allows exact ids and prefixes, nothing else', () => {
    const s = UserScope.parse('acme.*|u42');
    expect(['acme.1', 'acme.', 'u42'].map((u) => s.allows(u))).toEqual([true, true, true]);
    expect(['acme', 'u420', 'u4', 'globex.1'].map((u) => s.allows(u))).toEqual([false, false, false, false]);
  });

  it('parses KEY;users=SCOPE, and a key alone as unlimited', () => {
    expect(parseKeyEntry('k1', 'X')).toEqual({ key: 'k1' });
    const e = parseKeyEntry('k2;users=t.*', 'X');
    expect(e.key).toBe('k2');
    expect(e.users?.allows('t.9')).toBe(true);
    expect(e.users?.allows('s.9')).toBe(false);
  });

  it('refuses a bad entry naming its position, never its key', () => {
    const bad: [string, string][] = [
      ['secret-key;users=', 'RECALL_API_KEYS entry 2: user scope part "" must be a user id'],
      ['secret-key;users=a b*', 'RECALL_API_KEYS entry 2: user scope part "a b*" must be a user id'],
      [';users=u1', 'RECALL_API_KEYS entry 2: no key before ;users='],
      ['secret-key;tenant=a', 'RECALL_API_KEYS entry 2: a key may be followed only by ;users=SCOPE'],
    ];
    for (const [entry, message] of bad) {
      const cfg = loadConfig({ RECALL_API_KEYS: `ok,${entry}` });
      expect(() => keyEntries(cfg, 'recall')).toThrow(ConfigError);
      expect(() => keyEntries(cfg, 'recall')).toThrow(message);
      try {
        keyEntries(cfg, 'recall');
      } catch (e) {
        expect((e as Error).message).not.toContain('secret-key');
      }
    }
  });

  it('gives the keyring each key’s scope, and clients the bare key', () => {
    const cfg = loadConfig({ RECALL_API_KEYS: 'scoped;users=acme.*,open', INGEST_API_KEYS: 'w;users=u1' });
    expect(clientKey(cfg, 'recall')).toBe('scoped');
    expect(clientKey(cfg, 'ingest')).toBe('w');
    const identify = makeKeyring({ recall: keyEntries(cfg, 'recall') });
    expect(identify('scoped')?.users?.text).toBe('acme.*');
    expect(identify('open')).toEqual({ kind: 'recall', id: 1 });
    // the whole entry is no key
    expect(identify('scoped;users=acme.*')).toBeUndefined();
  });
});
