import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armLatency, latencySources, quantileQuery } from '../../../cli/experiment-latency.js';
import type { ExperimentDefinition } from '../../../versions/experiments/definition.js';

const def = (mode: 'ab' | 'shadow', o: Partial<ExperimentDefinition> = {}): ExperimentDefinition => ({
  name: 'exp-a',
  alias: 'towerflow_items',
  mode,
  control: 'v20240131-030405',
  candidate: 'v20240201-030405',
  share: 0.1,
  startedAt: '2024-02-01T10:00:00.000Z',
  endedAt: '2024-02-01T12:00:00.000Z',
  state: 'aborted',
  ...o,
});

describe('experiment report: latency per arm from Prometheus', () => {
  it('asks for one stack’s series (or unlabelled ones) over the run', () => {
    expect(quantileQuery(0.5, 'towerflow_recall_arm_seconds{arm="control"}', 7200, 'tf.x')).toBe(
      'histogram_quantile(0.5, sum(increase(towerflow_recall_arm_seconds_bucket{stack=~"tf\\\\.x|",arm="control"}[7200s])) by (le))',
    );
    expect(quantileQuery(0.99, 'towerflow_recall_shadow_seconds{}', 60, 'towerflow')).toBe(
      'histogram_quantile(0.99, sum(increase(towerflow_recall_shadow_seconds_bucket{stack=~"towerflow|"}[60s])) by (le))',
    );
    expect(latencySources('shadow').candidate).toEqual(['towerflow_recall_shadow_seconds{}']);
  });

  const queries: { query: string; time: string }[] = [];
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // answers like Prometheus: the arm histogram has only the control arm's series
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '', 'http://x').searchParams;
      const query = q.get('query') ?? '';
      queries.push({ query, time: q.get('time') ?? '' });
      const value = query.includes('arm="control"')
        ? query.startsWith('histogram_quantile(0.5')
          ? 0.004
          : 0.021
        : Number.NaN;
      const result = Number.isNaN(value) ? [] : [{ metric: {}, value: [0, String(value)] }];
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('gives p50 and p99 in ms for the arms Prometheus has, at the experiment’s end, over its run', async () => {
    expect(await armLatency(url, def('ab'), 'towerflow')).toEqual({ control: { p50: 4, p99: 21 } });
    expect(new Set(queries.map((q) => q.time))).toEqual(
      new Set([String(Date.parse('2024-02-01T12:00:00Z') / 1000)]),
    );
    expect(queries.every((q) => q.query.includes('[7200s]'))).toBe(true);
  });

  it('leaves latency out when Prometheus does not answer', async () => {
    expect(await armLatency('http://127.0.0.1:1', def('ab'), 'towerflow')).toEqual({});
  });
});
