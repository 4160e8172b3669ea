import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generatedKeyFile,
  makeKeyring,
  presentedKey,
  resolveAllKeys,
  resolveKeys,
} from '../../../runtime/api-keys.js';

/** The old single-kind checker, as the keyring answers it. */
const makeKeyChecker = (keys: string[]) => {
  const identify = makeKeyring({ ingest: keys });
  return (presented: string | undefined) => identify(presented) !== undefined;
};
/** Processes racing for the generated key. */
const N = 4;
const resolveApiKeys = (cfg: { ingestApiKeys: string[]; homeDir: string }) =>
  resolveKeys({ ...cfg, recallApiKeys: [], recallOperatorKeys: [] }, 'ingest');

describe('makeKeyChecker', () => {
  const check = makeKeyChecker(['secret-one']);

  it('accepts the configured key', () => {
    expect(check('secret-one')).toBe(true);
  });

  it.each([
    ['a wrong key', 'secret-two'],
    ['a prefix', 'secret-on'],
    ['a longer key', 'secret-one!'],
    ['a different case', 'SECRET-ONE'],
    ['an empty key', ''],
    ['no key', undefined],
  ])('rejects %s', (_, presented) => {
    expect(check(presented)).toBe(false);
  });

  it('rejects keys longer than 512 chars, even a configured one', () => {
    const long = 'k'.repeat(513);
    expect(makeKeyChecker([long])(long)).toBe(false);
    const max = 'k'.repeat(512);
    expect(makeKeyChecker([max])(max)).toBe(true);
  });

  it('accepts any of several keys', () => {
    const multi = makeKeyChecker(['k1', 'k2', 'k3']);
    expect(multi('k1')).toBe(true);
    expect(multi('k2')).toBe(true);
    expect(multi('k3')).toBe(true);
    expect(multi('k4')).toBe(false);
  });

  it('accepts nothing without keys', () => {
    const none = makeKeyChecker([]);
    expect(none('anything')).toBe(false);
    expect(none('')).toBe(false);
  });
});

describe('presentedKey', () => {
  it('reads a Bearer token', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'Bearer   abc  ' })).toBe('abc');
  });

  it('reads X-Api-Key', () => {
    expect(presentedKey({ 'x-api-key': 'xyz' })).toBe('xyz');
    expect(presentedKey({ 'x-api-key': ' xyz ' })).toBe('xyz');
  });

  it('prefers the Bearer token over X-Api-Key', () => {
    expect(presentedKey({ authorization: 'Bearer abc', 'x-api-key': 'xyz' })).toBe('abc');
  });

  it('falls back to X-Api-Key when Authorization is another scheme', () => {
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'xyz' })).toBe('xyz');
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
  });

  it('is undefined without a usable header', () => {
    expect(presentedKey({})).toBeUndefined();
    expect(presentedKey({ 'x-api-key': ['a', 'b'] })).toBeUndefined();
    expect(presentedKey({ authorization: undefined })).toBeUndefined();
  });

  it('works with the checker end to end', () => {
    const check = makeKeyChecker(['k-123']);
    expect(check(presentedKey({ authorization: 'Bearer k-123' }))).toBe(true);
    expect(check(presentedKey({ 'x-api-key': 'k-123' }))).toBe(true);
    expect(check(presentedKey({ authorization: 'Bearer ' }))).toBe(false);
    expect(check(presentedKey({}))).toBe(false);
  });
});

describe('resolveApiKeys', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'towerflow-api-keys-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the configured keys and writes no file', () => {
    const homeDir = join(dir, 'home');
    expect(resolveApiKeys({ ingestApiKeys: ['a', 'b'], homeDir })).toEqual(['a', 'b']);
    expect(existsSync(generatedKeyFile({ homeDir }, 'ingest'))).toBe(false);
    expect(existsSync(homeDir)).toBe(false);
  });

  it('generates one key into a mode-600 file when none is configured', () => {
    const homeDir = join(dir, 'nested', 'home');
    const keys = resolveApiKeys({ ingestApiKeys: [], homeDir });
    const file = generatedKeyFile({ homeDir }, 'ingest');
    expect(file).toBe(join(homeDir, 'ingest-api-key'));
    expect(keys).toHaveLength(1);
    const [key] = keys as [string];
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(readFileSync(file, 'utf8')).toBe(`${key}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('returns the same key on the next call', () => {
    const homeDir = join(dir, 'home');
    const first = resolveApiKeys({ ingestApiKeys: [], homeDir });
    const second = resolveApiKeys({ ingestApiKeys: [], homeDir });
    expect(second).toEqual(first);
  });

  it('generates different keys in different homes', () => {
    const a = resolveApiKeys({ ingestApiKeys: [], homeDir: join(dir, 'a') });
    const b = resolveApiKeys({ ingestApiKeys: [], homeDir: join(dir, 'b') });
    expect(a).not.toEqual(b);
  });

  it('gives every one of several processes starting at once the same key (instances of the APIs)', async () => {
    const homeDir = join(dir, 'home');
    const barrier = join(dir, 'barrier');
    mkdirSync(barrier);
    const module = join(import.meta.dirname, '../../../runtime/api-keys.ts');
    // each child, once loaded, waits until all are, then resolves the key at once with the
    // others: their checks for the file and their writes interleave
    const script = `import { readdirSync, writeFileSync } from 'node:fs';
      import { resolveKeys } from ${JSON.stringify(module)};
      writeFileSync(${JSON.stringify(barrier)} + '/' + process.pid, '');
      while (readdirSync(${JSON.stringify(barrier)}).length < ${N});
      const [key] = resolveKeys({ ingestApiKeys: [], recallApiKeys: [], recallOperatorKeys: [], homeDir: ${JSON.stringify(homeDir)} }, 'ingest');
      process.stdout.write(key);`;
    const run = promisify(execFile);
    const keys = await Promise.all(
      Array.from({ length: N }, () =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]).then((r) => r.stdout),
      ),
    );
    const file = readFileSync(generatedKeyFile({ homeDir }, 'ingest'), 'utf8').trim();
    expect(keys).toEqual(Array(N).fill(file));
    // no half-made key left beside it
    expect(readdirSync(homeDir)).toEqual(['ingest-api-key']);
  }, 60_000);

  it('reads an existing key file, trimmed', () => {
    const homeDir = join(dir, 'home');
    resolveApiKeys({ ingestApiKeys: [], homeDir });
    writeFileSync(generatedKeyFile({ homeDir }, 'ingest'), '  my-key \n');
    expect(resolveApiKeys({ ingestApiKeys: [], homeDir })).toEqual(['my-key']);
  });
});

describe('presentedKey scheme', () => {
  it('accepts the Bearer scheme in any case (RFC 9110)', () => {
    expect(presentedKey({ authorization: 'bearer k1' })).toBe('k1');
    expect(presentedKey({ authorization: 'BEARER k1' })).toBe('k1');
    expect(presentedKey({ authorization: 'Basic k1' })).toBeUndefined();
  });
});

describe('makeKeyring', () => {
  const identify = makeKeyring({ ingest: ['w1', 'w2'], recall: ['r1'], operator: ['o1'] });

  it('names the kind of each configured key, with a number stable per key', () => {
    expect(identify('w1')).toEqual({ kind: 'ingest', id: 0 });
    expect(identify('w2')).toEqual({ kind: 'ingest', id: 1 });
    expect(identify('r1')).toEqual({ kind: 'recall', id: 2 });
    expect(identify('o1')).toEqual({ kind: 'operator', id: 3 });
  });

  it('knows no other key', () => {
    for (const k of ['r2', 'W1', 'o', '', undefined]) expect(identify(k)).toBeUndefined();
  });

  it('gives a key listed under two kinds the first kind (ingest, recall, operator)', () => {
    expect(makeKeyring({ recall: ['same'], operator: ['same'] })('same')?.kind).toBe('recall');
  });
});

describe('resolveAllKeys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'towerflow-api-keys-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a recall key beside the ingest key, different from it, and no operator key', () => {
    const homeDir = join(dir, 'home');
    const keys = resolveAllKeys({ ingestApiKeys: [], recallApiKeys: [], recallOperatorKeys: [], homeDir });
    expect(keys.operator).toEqual([]);
    expect(keys.recall).toHaveLength(1);
    expect(keys.recall).not.toEqual(keys.ingest);
    const file = generatedKeyFile({ homeDir }, 'recall');
    expect(file).toBe(join(homeDir, 'recall-api-key'));
    expect(readFileSync(file, 'utf8')).toBe(`${(keys.recall[0] as { key: string }).key}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('takes RECALL_API_KEYS and RECALL_OPERATOR_KEYS as configured, generating nothing', () => {
    const homeDir = join(dir, 'home');
    const keys = resolveAllKeys({
      ingestApiKeys: ['w'],
      recallApiKeys: ['r1', 'r2'],
      recallOperatorKeys: ['o'],
      homeDir,
    });
    expect(keys).toEqual({
      ingest: [{ key: 'w' }],
      recall: [{ key: 'r1' }, { key: 'r2' }],
      operator: [{ key: 'o' }],
    });
    expect(existsSync(homeDir)).toBe(false);
  });
});
