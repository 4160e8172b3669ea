import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { answerUnrouted, type GuardOptions, guardApi } from '../../../runtime/api-guard.js';

const KEYS = { ingest: ['write-key'], recall: ['read-key'], operator: ['op-key'] };

/** A small API behind the guard: GET and POST /v1/thing, an open /healthz. */
function app(o: Partial<GuardOptions> = {}) {
  const a = Fastify({ logger: false });
  guardApi(a, {
    keys: KEYS,
    accept: ['recall', 'operator'],
    rate: { perSecond: 1000, burst: 1000 },
    name: 'test',
    ...o,
  });
  answerUnrouted(a);
  a.get('/v1/thing', async (req) => ({ operator: req.isOperator }));
  a.post('/v1/thing', async () => ({ posted: true }));
  a.get('/healthz', async () => ({ ok: true }));
  return a;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('guardApi', () => {
  const apps: ReturnType<typeof app>[] = [];
  const make = (o: Partial<GuardOptions> = {}) => {
    const a = app(o);
    apps.push(a);
    return a;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('answers 401 with WWW-Authenticate without a key or with an unknown one', async () => {
    const a = make();
    for (const headers of [{}, bearer('nope'), { 'x-api-key': 'nope' }]) {
      const res = await a.inject({ url: '/v1/thing', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json().error).toBe('unauthorized');
    }
  });

  it('answers 403 to a key of a kind the API does not take', async () => {
    const res = await make().inject({ url: '/v1/thing', headers: bearer('write-key') });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: 'forbidden',
      message: 'this is an ingest key; the test API takes recall or operator keys',
    });
  });

  it('lets accepted kinds in, by either header, and marks operator keys only', async () => {
    const a = make();
    const read = await a.inject({ url: '/v1/thing', headers: bearer('read-key') });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ operator: false });
    const op = await a.inject({ url: '/v1/thing', headers: { 'x-api-key': 'op-key' } });
    expect(op.json()).toEqual({ operator: true });
  });

  it('leaves routes outside /v1/ open', async () => {
    expect((await make().inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('answers 429 with Retry-After once a key has spent its burst, other keys unaffected', async () => {
    const a = make({ rate: { perSecond: 0.5, burst: 2 } });
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await a.inject({ url: '/v1/thing', headers: bearer('read-key') })).statusCode);
    expect(codes).toEqual([200, 200, 429]);
    const limited = await a.inject({ url: '/v1/thing', headers: bearer('read-key') });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.json().error).toBe('rate_limited');
    expect((await a.inject({ url: '/v1/thing', headers: bearer('op-key') })).statusCode).toBe(200);
  });

  it('spends no token on refused keys: unknown keys cannot exhaust a real key', async () => {
    const a = make({ rate: { perSecond: 0.001, burst: 1 } });
    for (let i = 0; i < 5; i++)
      expect((await a.inject({ url: '/v1/thing', headers: bearer('nope') })).statusCode).toBe(401);
    expect((await a.inject({ url: '/v1/thing', headers: bearer('read-key') })).statusCode).toBe(200);
  });
});

describe('answerUnrouted', () => {
  it('answers 405 with Allow for an undeclared method on a declared path', async () => {
    const a = app();
    for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
      const res = await a.inject({ method, url: '/v1/thing?x=1' });
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD, POST');
      expect(res.json().error).toBe('method_not_allowed');
    }
    // a method whose body fastify would refuse (no content type) is still told 405, not 400
    const query = await a.inject({ method: 'QUERY' as 'GET', url: '/v1/thing' });
    expect([query.statusCode, query.headers.allow]).toEqual([405, 'GET, HEAD, POST']);
    const health = await a.inject({ method: 'POST', url: '/healthz' });
    expect([health.statusCode, health.headers.allow]).toEqual([405, 'GET, HEAD']);
    await a.close();
  });

  it('answers 404 for an unknown path, whatever the method', async () => {
    const a = app();
    for (const method of ['GET', 'POST'] as const) {
      const res = await a.inject({ method, url: '/v1/other' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toBe('not_found');
    }
    await a.close();
  });
});
