import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts, requireServices } from '../../../cli/preflight.js';
import { loadConfig } from '../../../config/index.js';
import { UserFacingError } from '../../../runtime/errors.js';

// A port nothing listens on: bound, then closed.
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('requireServices', () => {
  const server = net.createServer((sock) => sock.destroy());
  let open = 0;
  let closed = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open = (server.address() as net.AddressInfo).port;
    closed = await closedPort();
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('tells a listening port from a closed one', async () => {
    expect([await accepts(`127.0.0.1:${open}`), await accepts(`127.0.0.1:${closed}`)]).toEqual([true, false]);
  });

  it('names the first service that does not answer, its setting and the fix', async () => {
    const cfg = {
      ...loadConfig(),
      redisUrl: `redis://127.0.0.1:${open}`,
      kafkaBrokers: [`127.0.0.1:${closed}`, `127.0.0.1:${open}`],
      hbaseThriftAddress: `127.0.0.1:${closed}`,
      localServices: ['redis', 'kafka', 'hbase'],
    };
    // Kafka answers on one of its bootstrap brokers: enough
    await expect(requireServices(cfg, ['redis', 'kafka'])).resolves.toBeUndefined();
    const e = await requireServices(cfg, ['redis', 'kafka', 'hbase']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserFacingError);
    expect((e as UserFacingError).cause).toBe(
      `the HBase Thrift2 gateway at 127.0.0.1:${closed} is not reachable`,
    );
    expect((e as UserFacingError).fix).toBe(
      'run `towerflow infra up`, or set HBASE_THRIFT_ADDRESS to where it runs',
    );
    expect((e as UserFacingError).exitCode).toBe(3);
    // an external service is not towerflow's to start
    const external = await requireServices({ ...cfg, localServices: ['none'] }, ['hbase']).catch(
      (x: unknown) => x as UserFacingError,
    );
    expect(external?.fix).toBe('start it, or set HBASE_THRIFT_ADDRESS to where it runs');
  });
});
