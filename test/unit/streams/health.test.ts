import { describe, expect, it } from 'vitest';
import { StreamHealth } from '../../../streams/health.js';

// Health reports the present state (issue 25): after the broker came back, a processor that had
// rejoined its group answered 503 with the broker's old error until its next batch, which an
// idle topic never brings.

const BROKER_DOWN = 'KafkaJSConnectionError: Connection error: connect ECONNREFUSED 127.0.0.1:9092';

describe('stream health', () => {
  it('is live but not ready before the consumer joins its group, ready once it has partitions', () => {
    const h = new StreamHealth();
    expect(h.report()).toEqual({ live: true, ready: false, consuming: false, partitions: 0, errors: [] });
    h.on({ type: 'joined', partitions: 3 });
    expect(h.report()).toEqual({ live: true, ready: true, consuming: true, partitions: 3, errors: [] });
  });

  it('a member with no partition assigned consumes nothing: not ready', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 0 });
    expect(h.report()).toMatchObject({ live: true, ready: false, consuming: true, partitions: 0 });
  });

  it('a broker error makes it not ready (still live while the consumer restarts itself)', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 1 });
    h.on({ type: 'crashed', error: BROKER_DOWN, restart: true });
    expect(h.report()).toEqual({
      live: true,
      ready: false,
      consuming: false,
      partitions: 1,
      errors: [BROKER_DOWN],
    });
  });

  it('the broker back: rejoining clears the error on an idle topic, with no batch written', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 1 });
    h.on({ type: 'crashed', error: BROKER_DOWN, restart: true });
    h.on({ type: 'joined', partitions: 1 });
    expect(h.report()).toEqual({ live: true, ready: true, consuming: true, partitions: 1, errors: [] });
  });

  it('a successful fetch clears a broker error too (an idle topic fetches without batches)', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 2 });
    h.on({ type: 'crashed', error: BROKER_DOWN, restart: true });
    h.on({ type: 'joined', partitions: 2 });
    h.on({ type: 'crashed', error: 'request timed out', restart: true });
    expect(h.report().errors).toEqual(['request timed out']);
    h.on({ type: 'fetched' });
    // still not joined again after the second crash: ready only after the join
    expect(h.report()).toMatchObject({ ready: false, errors: [] });
    h.on({ type: 'joined', partitions: 2 });
    expect(h.report().ready).toBe(true);
  });

  it('not ready while a rebalance is in progress, ready again after the join', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 2 });
    h.on({ type: 'rebalancing' });
    expect(h.report()).toMatchObject({ ready: false, consuming: false, errors: [] });
    h.on({ type: 'joined', partitions: 1 });
    expect(h.report()).toMatchObject({ ready: true, partitions: 1 });
  });

  it('a crash the consumer does not restart from ends liveness', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 1 });
    h.on({ type: 'crashed', error: 'unrecoverable', restart: false });
    expect(h.report()).toEqual({
      live: false,
      ready: false,
      consuming: false,
      partitions: 1,
      errors: ['unrecoverable'],
    });
  });

  it('a failing write holds readiness while it is retried, per partition, and clears when it settles', () => {
    const h = new StreamHealth();
    h.on({ type: 'joined', partitions: 2 });
    h.writeFailed('t', 0, 'hbase down');
    h.writeFailed('t', 1, 'hbase down');
    expect(h.report()).toMatchObject({
      live: true,
      ready: false,
      errors: ['write to t/0: hbase down', 'write to t/1: hbase down'],
    });
    h.writeSettled('t', 0);
    expect(h.report()).toMatchObject({ ready: false, errors: ['write to t/1: hbase down'] });
    // fetches go on for other partitions meanwhile: they do not hide a failing write
    h.on({ type: 'fetched' });
    expect(h.report().ready).toBe(false);
    h.writeSettled('t', 1);
    expect(h.report()).toMatchObject({ ready: true, errors: [] });
  });
});
