import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/index.js';
import { buildIngestApp } from '../../../ingest/app.js';
import type { KafkaGate } from '../../../ingest/kafka-gate.js';
import { UserScope } from '../../../runtime/key-scope.js';
import type { Logger } from '../../../runtime/logger.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {} } as unknown as Logger;
const KEYS = {
  ingest: ['write-key', { key: 'tenant-key', users: UserScope.parse('acme.*|u7') }],
  recall: ['read-key'],
  operator: ['op-key'],
};
const write = { authorization: 'Bearer write-key' };

/** The ingest app over a Kafka that acknowledges everything, counting what it was sent. */
function app(env: Record<string, string> = {}) {
  const sent: unknown[] = [];
  const kafka = {
    ready: true,
    async sendAll(_topic: string, msgs: unknown[]) {
      sent.push(...msgs);
    },
  } as unknown as KafkaGate;
  const a = buildIngestApp({
    cfg: loadConfig(env),
    log: quiet,
    kafka,
    apiKeys: KEYS,
    registry: new Registry(),
  });
  return { a, sent };
}

const event = (i: number) => ({
  event_id: `e${i}`,
  user_id: 'u1',
  item_id: 'i1',
  type: 'click',
  ts: 1_700_000_000_000,
});

describe('ingest API door', () => {
  it('takes from a key limited to some users only their events and profiles, naming each other user (403)', async () => {
    const { a, sent } = app();
    const tenant = { authorization: 'Bearer tenant-key' };
    const ev = (i: number, user_id: string) => ({ ...event(i), user_id });
    const bad = await a.inject({
      method: 'POST',
      url: '/v1/events',
      payload: { events: [ev(1, 'acme.1'), ev(2, 'globex.1'), ev(3, 'u7'), ev(4, 'u70')] },
      headers: tenant,
    });
    expect(bad.statusCode).toBe(403);
    expect(bad.json()).toEqual({
      error: 'forbidden',
      message: 'events[1].user_id: this key may act only for users acme.*|u7, not "globex.1" (and 1 more)',
      errors: [
        { index: 1, field: 'events[1].user_id', message: 'user "globex.1" is outside this key\'s users' },
        { index: 3, field: 'events[3].user_id', message: 'user "u70" is outside this key\'s users' },
      ],
    });
    expect(sent).toEqual([]);
    const ok = await a.inject({
      method: 'POST',
      url: '/v1/events',
      payload: { events: [ev(1, 'acme.1'), ev(3, 'u7')] },
      headers: tenant,
    });
    expect(ok.statusCode).toBe(202);
    const profile = { event_id: 'p1', user_id: 'acme.2', ts: 1, profile: { age: 30 } };
    const p = await a.inject({ method: 'POST', url: '/v1/users', payload: profile, headers: tenant });
    expect(p.statusCode).toBe(202);
    const other = await a.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { ...profile, user_id: 'globex.2' },
      headers: tenant,
    });
    expect([other.statusCode, other.json().errors[0].field]).toEqual([403, 'events[0].user_id']);
    const item = { event_id: 'i1', item_id: 'i1', op: 'upsert', ts: 1, features: { genres: ['x'] } };
    const items = await a.inject({ method: 'POST', url: '/v1/items', payload: item, headers: tenant });
    expect([items.statusCode, items.json().message]).toEqual([
      403,
      'this key may act only for users acme.*|u7; item events need a key without a user scope',
    ]);
    expect(sent).toHaveLength(3);
    await a.close();
  });

  it('answers 401 without a key, 403 to a recall or operator key, and sends nothing', async () => {
    const { a, sent } = app();
    expect((await a.inject({ method: 'POST', url: '/v1/events', payload: event(1) })).statusCode).toBe(401);
    for (const key of ['read-key', 'op-key']) {
      const res = await a.inject({
        method: 'POST',
        url: '/v1/events',
        payload: event(1),
        headers: { 'x-api-key': key },
      });
      expect([res.statusCode, res.json().error]).toEqual([403, 'forbidden']);
    }
    expect(sent).toEqual([]);
    const ok = await a.inject({ method: 'POST', url: '/v1/events', payload: event(1), headers: write });
    expect(ok.statusCode).toBe(202);
    expect(sent).toHaveLength(1);
    await a.close();
  });

  it('answers 429 with Retry-After past the key’s burst (INGEST_RATE_LIMIT_*)', async () => {
    const { a, sent } = app({ INGEST_RATE_LIMIT_PER_SECOND: '0.5', INGEST_RATE_LIMIT_BURST: '2' });
    const post = (i: number) =>
      a.inject({ method: 'POST', url: '/v1/events', payload: event(i), headers: write });
    expect([(await post(1)).statusCode, (await post(2)).statusCode]).toEqual([202, 202]);
    const limited = await post(3);
    expect([limited.statusCode, limited.headers['retry-after'], limited.json().error]).toEqual([
      429,
      '2',
      'rate_limited',
    ]);
    expect(sent).toHaveLength(2);
    await a.close();
  });

  it('answers 405 with Allow to an undeclared method on a route, 404 on an unknown path', async () => {
    const { a } = app();
    const get = await a.inject({ method: 'GET', url: '/v1/items', headers: write });
    expect([get.statusCode, get.headers.allow]).toEqual([405, 'POST']);
    expect((await a.inject({ method: 'POST', url: '/v1/nothing', headers: write })).statusCode).toBe(404);
    await a.close();
  });

  it('publishes INGEST_MAX_BATCH as maxItems in its document', async () => {
    const { a } = app({ INGEST_MAX_BATCH: '7' });
    const doc = (await a.inject({ url: '/openapi.json' })).json();
    const body = doc.paths['/v1/events'].post.requestBody.content['application/json'].schema;
    expect(body.oneOf[1].properties.events.maxItems).toBe(7);
    await a.close();
  });
});
