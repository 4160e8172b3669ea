import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../clients/kafka/kafkajs.js';
import { IdempotentProducer } from '../../../clients/kafka/rdkafka.js';
import { createRedis } from '../../../clients/redis.js';
import { type Config, LOCAL_SERVICE_USER, loadConfig } from '../../../config/index.js';
import { localPaths } from '../../../infra/local/paths.js';
import { findJava } from '../../../infra/local/prereq.js';
import { writePrivate } from '../../../infra/local/secrets.js';
import { formatArgs, jvmArgs, KAFKA_VERSION, serverProperties } from '../../../infra/local/services/kafka.js';
import { exporterAuthEnv, redisAclFile } from '../../../infra/local/services/redis.js';

// The services' own credentials on real servers (issue 25): a Redis with the local stack's ACL
// file (default user off) and a throw-away Kafka broker with the local stack's SCRAM-SHA-256
// listener, each reached through the project's clients with the settings, and refused without
// them; no password appears in any error. The shared services of the suite stay untouched (other
// ports, own data folders).

const run = promisify(execFile);
const REDIS_PORT = 16_379;
const EXPORTER_PORT = 19_221;
const KAFKA_PORT = 19_392;
const PASSWORD = 'c0rrect-h0rse-battery-staple-3f9a';
const WRONG = 'wr0ng-passw0rd-7c1e';

const base = loadConfig({ ...process.env, TOWERFLOW_LOCAL_AUTH: 'off' });
const withRedis = (username: string, password: string): Config => ({
  ...base,
  redisUrl: `redis://127.0.0.1:${REDIS_PORT}/0`,
  redisUsername: username,
  redisPassword: password,
});
const withKafka = (mechanism: Config['kafkaSaslMechanism'], password: string): Config => ({
  ...base,
  kafkaBrokers: [`127.0.0.1:${KAFKA_PORT}`],
  kafkaControllerPort: KAFKA_PORT + 1,
  kafkaClientId: 'credentials-test',
  kafkaSaslMechanism: mechanism,
  kafkaSaslUsername: LOCAL_SERVICE_USER,
  kafkaSaslPassword: password,
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Its message and every property a logger would print of it. */
const everything = (e: unknown): string =>
  `${(e as Error).message} ${JSON.stringify(e, Object.getOwnPropertyNames(e as object))}`;

describe('service credentials on real servers', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'towerflow-credentials-'));
  const children: ChildProcess[] = [];
  const spawnLogged = (name: string, command: string, args: string[], env?: NodeJS.ProcessEnv) => {
    const fd = openSync(path.join(dir, `${name}.log`), 'a');
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    const acl = path.join(dir, 'users.acl');
    writePrivate(acl, redisAclFile(PASSWORD));
    spawnLogged('redis', '/usr/bin/redis-server', [
      '--bind',
      '127.0.0.1',
      '--port',
      String(REDIS_PORT),
      '--save',
      '',
      '--dir',
      dir,
      '--aclfile',
      acl,
    ]);
    const cfg = withKafka('scram-sha-256', PASSWORD);
    const scram = { user: LOCAL_SERVICE_USER, password: PASSWORD };
    const data = path.join(dir, 'kafka');
    mkdirSync(data);
    const props = path.join(dir, 'server.properties');
    writePrivate(props, serverProperties({ cfg }, data, scram));
    const java = await findJava(base);
    const lib = path.join(localPaths(base).cache, `kafka-${KAFKA_VERSION}`, 'lib');
    await run(java, formatArgs({ cfg }, lib, props, [], scram));
    spawnLogged('kafka', java, [...jvmArgs({ cfg }, lib), 'kafka.Kafka', props]);
    await until(
      'the SCRAM broker answers',
      async () => {
        const admin = createKafka(cfg, { retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
        try {
          await admin.connect();
          return (await admin.describeCluster()).brokers.length === 1;
        } finally {
          await admin.disconnect();
        }
      },
      90_000,
    );
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(-c.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the ACL file private and the password out of it', () => {
    const acl = path.join(dir, 'users.acl');
    expect(statSync(acl).mode & 0o777).toBe(0o600);
    expect(readFileSync(acl, 'utf8')).not.toContain(PASSWORD);
  });

  it('Redis: the ACL user with its password works; no password, the default user or a wrong one is refused without echoing it', async () => {
    const ok = createRedis(withRedis(LOCAL_SERVICE_USER, PASSWORD), { maxRetriesPerRequest: 0 });
    await until('redis answers', async () => (await ok.ping()) === 'PONG', 15_000);
    await ok.set('credentials-test', 'v');
    expect(await ok.get('credentials-test')).toBe('v');
    ok.disconnect();

    const refusals: [string, Config, RegExp][] = [
      ['no credentials', withRedis('', ''), /NOAUTH/],
      ['the default user', withRedis('', PASSWORD), /WRONGPASS/],
      ['a wrong password', withRedis(LOCAL_SERVICE_USER, WRONG), /WRONGPASS/],
    ];
    for (const [what, cfg, reason] of refusals) {
      // no ready check: the refusal comes from the command itself, not a closed connection
      const client = createRedis(cfg, {
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableReadyCheck: false,
      });
      // a refused AUTH (sent on connect) is emitted as an error event and the connection closes
      const emitted: unknown[] = [];
      client.on('error', (e: unknown) => emitted.push(e));
      const failed = await client
        .connect()
        .then(() => client.get('credentials-test'))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      client.disconnect();
      expect(failed, what).toBeInstanceOf(Error);
      const said = [failed, ...emitted].map(everything).join('\n');
      expect(said, what).toMatch(reason);
      expect(said, what).not.toContain(PASSWORD);
      expect(said, what).not.toContain(WRONG);
    }
  });

  it('Redis exporter: scrapes the ACL-protected server with the credentials from its environment', async () => {
    const env = { ...process.env, ...exporterAuthEnv(withRedis(LOCAL_SERVICE_USER, PASSWORD)) };
    const exporter = spawnLogged(
      'redis-exporter',
      '/usr/bin/prometheus-redis-exporter',
      [
        '-redis.addr',
        `redis://127.0.0.1:${REDIS_PORT}`,
        '-web.listen-address',
        `127.0.0.1:${EXPORTER_PORT}`,
        '-redis-only-metrics',
      ],
      env,
    );
    let text = '';
    await until(
      'the exporter reaches Redis',
      async () => {
        text = await (await fetch(`http://127.0.0.1:${EXPORTER_PORT}/metrics`)).text();
        return /^redis_up 1$/m.test(text);
      },
      20_000,
    );
    // the credentials are in its environment, not on its command line
    const cmdline = readFileSync(`/proc/${exporter.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(PASSWORD);
    expect(text).not.toContain(PASSWORD);
  });

  it('Kafka: both clients (kafkajs and librdkafka) produce and consume over SCRAM-SHA-256', async () => {
    const cfg = withKafka('scram-sha-256', PASSWORD);
    const kafka = createKafka(cfg);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'credentials', numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = new IdempotentProducer(cfg);
    await producer.connect(20_000);
    await producer.send('credentials', { key: 'k', value: 'over scram' });
    await producer.disconnect();
    // quiet: a fresh broker's coordinator answers "loading" first, which the consumer retries
    const consumer = createKafka(cfg, { logLevel: logLevel.NOTHING }).consumer({
      groupId: 'credentials-test',
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'credentials', fromBeginning: true });
    const got = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
    });
    await consumer.disconnect();
    expect(got).toBe('over scram');
  }, 60_000);

  it('Kafka: no SASL or a wrong password is refused, by both clients, without echoing the password', async () => {
    for (const [what, cfg] of [
      ['no SASL', withKafka('none', '')],
      ['a wrong password', withKafka('scram-sha-256', WRONG)],
    ] as const) {
      const admin = createKafka(cfg, {
        retry: { retries: 0 },
        connectionTimeout: 3000,
        logLevel: logLevel.NOTHING,
      }).admin();
      const err = await admin
        .connect()
        .then(() => admin.listTopics())
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      await admin.disconnect();
      expect(err, `kafkajs, ${what}`).toBeInstanceOf(Error);
      expect(everything(err)).not.toContain(WRONG);
      expect(everything(err)).not.toContain(PASSWORD);
    }
    // librdkafka: the wrong password never gets a connection (connect times out on authentication)
    const producer = new IdempotentProducer(withKafka('scram-sha-256', WRONG));
    const err = await producer.connect(5000).then(
      () => undefined,
      (e: unknown) => e,
    );
    await producer.disconnect().catch(() => {});
    expect(err).toBeInstanceOf(Error);
    expect(everything(err)).not.toContain(WRONG);
  }, 60_000);
});
