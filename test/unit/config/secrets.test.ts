import { pbkdf2Sync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { kafkajsAuth, rdkafkaAuth } from '../../../clients/kafka/auth.js';
import { redisAuth } from '../../../clients/redis.js';
import {
  ConfigError,
  LOCAL_SERVICE_USER,
  loadConfig,
  localSecretFile,
  redactedConfig,
  redactUrl,
} from '../../../config/index.js';
import { scramCredential } from '../../../infra/local/services/kafka.js';
import { redisAclFile } from '../../../infra/local/services/redis.js';
import { REDACTED_LOG_PATHS } from '../../../runtime/logger.js';

const dir = mkdtempSync(path.join(tmpdir(), 'towerflow-secrets-'));
const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('secret settings', () => {
  it('reads a secret from <VAR>_FILE, without its final newline; lists one per line', () => {
    const cfg = loadConfig({
      REDIS_PASSWORD_FILE: file('redis', 's3cret with spaces\n'),
      RECALL_API_KEYS_FILE: file('keys', 'key-one\nkey-two\n'),
    });
    expect(cfg.redisPassword).toBe('s3cret with spaces');
    expect(cfg.recallApiKeys).toEqual(['key-one', 'key-two']);
  });

  it('prefers the variable to the file, and reads _FILE only for secrets', () => {
    expect(
      loadConfig({ REDIS_PASSWORD: 'direct', REDIS_PASSWORD_FILE: file('other', 'from-file') }).redisPassword,
    ).toBe('direct');
    // KAFKA_BROKERS is no secret: its _FILE form means nothing
    expect(loadConfig({ KAFKA_BROKERS_FILE: file('brokers', 'x:1') }).kafkaBrokers).toEqual([
      '127.0.0.1:9092',
    ]);
  });

  it('names the variable and the path of an unreadable file, never its content', () => {
    const missing = path.join(dir, 'missing');
    expect(() => loadConfig({ KAFKA_SASL_PASSWORD_FILE: missing })).toThrow(ConfigError);
    expect(() => loadConfig({ KAFKA_SASL_PASSWORD_FILE: missing })).toThrow(
      `KAFKA_SASL_PASSWORD_FILE names ${missing}, which cannot be read (ENOENT)`,
    );
  });

  it('shows every secret as [redacted], and a password in the Redis URL too', () => {
    const shown = redactedConfig(
      loadConfig({
        REDIS_URL: 'redis://u:pw-in-url@h:6379/2',
        REDIS_PASSWORD: 'redis-pw',
        KAFKA_SASL_PASSWORD: 'kafka-pw',
        MILVUS_TOKEN: 'root:milvus-pw',
        INGEST_API_KEYS: 'ingest-key',
        RECALL_API_KEYS: 'recall-key',
        RECALL_OPERATOR_KEYS: 'operator-key',
      }),
    );
    const text = JSON.stringify(shown);
    for (const secret of [
      'pw-in-url',
      'redis-pw',
      'kafka-pw',
      'milvus-pw',
      'ingest-key',
      'recall-key',
      'operator-key',
    ])
      expect(text).not.toContain(secret);
    expect(shown.redisUrl).toBe('redis://u:[redacted]@h:6379/2');
    expect(shown.redisPassword).toBe('[redacted]');
    expect(shown.recallApiKeys).toBe('[redacted]');
    // an empty secret stays visibly empty: "none set" is worth seeing
    expect(redactedConfig(loadConfig({})).redisPassword).toBe('');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });

  it('with TOWERFLOW_LOCAL_AUTH=on, fills the empty credentials from the generated files', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'towerflow-local-auth-'));
    const env = { TOWERFLOW_HOME: home, TOWERFLOW_LOCAL_AUTH: 'on' };
    // nothing generated yet: nothing filled
    expect(loadConfig(env)).toMatchObject({ redisPassword: '', kafkaSaslMechanism: 'none' });
    const cfg0 = loadConfig(env);
    mkdirSync(path.dirname(localSecretFile(cfg0, 'redis')), { recursive: true });
    writeFileSync(localSecretFile(cfg0, 'redis'), 'r-generated\n');
    writeFileSync(localSecretFile(cfg0, 'kafka'), 'k-generated\n');
    expect(loadConfig(env)).toMatchObject({
      redisUsername: LOCAL_SERVICE_USER,
      redisPassword: 'r-generated',
      kafkaSaslMechanism: 'scram-sha-256',
      kafkaSaslUsername: LOCAL_SERVICE_USER,
      kafkaSaslPassword: 'k-generated',
    });
    // what the settings say wins
    expect(loadConfig({ ...env, REDIS_PASSWORD: 'mine', KAFKA_SASL_MECHANISM: 'plain' })).toMatchObject({
      redisUsername: '',
      redisPassword: 'mine',
      kafkaSaslMechanism: 'plain',
      kafkaSaslPassword: '',
    });
    // off: the files are ignored
    expect(loadConfig({ TOWERFLOW_HOME: home })).toMatchObject({
      redisPassword: '',
      kafkaSaslMechanism: 'none',
    });
  });
});

describe('client credentials', () => {
  it('maps the Kafka settings to kafkajs and librdkafka alike', () => {
    const cfg = loadConfig({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    });
    expect(kafkajsAuth(cfg)).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
    expect(rdkafkaAuth(cfg)).toEqual({
      'security.protocol': 'sasl_plaintext',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'u',
      'sasl.password': 'p',
    });
    const tls = loadConfig({ KAFKA_SSL: 'on', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' });
    expect(kafkajsAuth(tls).ssl).toBe(true);
    expect(rdkafkaAuth(tls)['security.protocol']).toBe('sasl_ssl');
    expect(rdkafkaAuth(loadConfig({ KAFKA_SSL: 'on' }))).toEqual({ 'security.protocol': 'ssl' });
    expect(kafkajsAuth(loadConfig({}))).toEqual({});
    expect(rdkafkaAuth(loadConfig({}))).toEqual({});
  });

  it('gives ioredis the user and password only when set', () => {
    expect(redisAuth(loadConfig({}))).toEqual({});
    expect(redisAuth(loadConfig({ REDIS_USERNAME: 'u', REDIS_PASSWORD: 'p' }))).toEqual({
      username: 'u',
      password: 'p',
    });
  });

  it('keeps the local Redis password out of its ACL file (SHA-256 only) and the default user off', () => {
    const acl = redisAclFile('pw');
    expect(acl).toBe(
      `user default off\nuser ${LOCAL_SERVICE_USER} on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all\n`,
    );
  });
});

describe('the local broker’s SCRAM user', () => {
  it('goes to the storage tool salted (PBKDF2-HMAC-SHA-256, 4,096 rounds), never as the password', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const value = scramCredential('towerflow', 'pencil', salt);
    expect(value).toBe(
      `SCRAM-SHA-256=[name=towerflow,iterations=4096,salt="W22ZaJ0SNY7soEsUEjb6gQ==",saltedpassword="${pbkdf2Sync('pencil', salt, 4096, 32, 'sha256').toString('base64')}"]`,
    );
    expect(value).not.toContain('pencil');
  });
});

describe('logs', () => {
  it('redact a failed Redis AUTH’s arguments and any logged configuration’s secrets', () => {
    const lines: string[] = [];
    const log = pino({ redact: REDACTED_LOG_PATHS }, { write: (l: string) => lines.push(l) });
    const err = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['towerflow', 'the-password'] },
    });
    log.error({ err }, 'redis refused');
    log.info(
      { cfg: { redisPassword: 'redis-pw', kafkaSaslPassword: 'kafka-pw', recallApiKeys: ['k'] } },
      'config',
    );
    log.info({ sasl: { mechanism: 'plain', password: 'sasl-pw' } }, 'kafka');
    const text = lines.join('');
    for (const secret of ['the-password', 'redis-pw', 'kafka-pw', '"k"', 'sasl-pw'])
      expect(text).not.toContain(secret);
    expect(text).toContain('WRONGPASS');
  });
});
