import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiKeys, type KeyKind, makeKeyring, presentedKey } from './api-keys.js';
import type { UserScope } from './key-scope.js';
import { TokenBuckets } from './rate-limit.js';

// The doors of both HTTP APIs, the same for each: who may come in (API keys by kind), how often
// (a token bucket per key), and what an undeclared method or path is told (405 with Allow, 404).

declare module 'fastify' {
  interface FastifyRequest {
    /** The request came with an operator key: the only kind allowed debugging overrides. */
    isOperator: boolean;
    /** The users the request's key may act for; undefined: every user. */
    userScope: UserScope | undefined;
  }
}

/** The error body of both APIs. */
export interface Problem {
  error: string;
  message: string;
  errors?: { index?: number; field: string; message: string }[];
}

export interface GuardOptions {
  /** Every kind's keys, so a key of another kind is told 403 rather than 401. */
  keys: ApiKeys;
  /** The kinds this API serves. */
  accept: readonly KeyKind[];
  /** Per key: requests per second (0: no limit) and the bucket size. */
  rate: { perSecond: number; burst: number };
  /** What the API is called in messages ("ingest", "recall"). */
  name: string;
}

/**
 * Requires a key of an accepted kind on every route under /v1/ (401 without or unknown, 403 of
 * another kind) and limits each key's rate (429 with Retry-After in seconds). /healthz, /metrics
 * and /openapi.json stay open: scrapers and orchestrators read them.
 */
export function guardApi(app: FastifyInstance, opts: GuardOptions): void {
  const identify = makeKeyring(opts.keys);
  const buckets = new TokenBuckets(opts.rate.perSecond, opts.rate.burst);
  const accepted = opts.accept.join(' or ');
  app.decorateRequest('isOperator', false);
  app.decorateRequest('userScope', undefined);
  app.addHook('onRequest', async (req, reply) => {
    // the matched route, not the raw URL: the router decodes %-escapes (`/%761/events` is /v1/events)
    if (!req.routeOptions.url?.startsWith('/v1/')) return;
    const key = identify(presentedKey(req.headers));
    if (key === undefined)
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: 'unauthorized',
          message: 'missing or unknown API key: send Authorization: Bearer KEY or X-Api-Key: KEY',
        } satisfies Problem);
    if (!opts.accept.includes(key.kind))
      return reply.code(403).send({
        error: 'forbidden',
        message: `this is ${key.kind === 'ingest' ? 'an' : 'a'} ${key.kind} key; the ${opts.name} API takes ${accepted} keys`,
      } satisfies Problem);
    const wait = buckets.take(key.id);
    if (wait > 0)
      return reply
        .code(429)
        .header('retry-after', String(wait))
        .send({
          error: 'rate_limited',
          message: `more than this key's ${opts.rate.perSecond} requests per second; retry after ${wait} s`,
        } satisfies Problem);
    req.isOperator = key.kind === 'operator';
    req.userScope = key.users;
  });
}

/**
 * The 403 of a request whose key may not act for some of the users it names (`fields`: each
 * user id with the field that carried it), or undefined when it may act for all of them.
 */
export function outsideScope(
  scope: UserScope | undefined,
  fields: readonly { field: string; index?: number; userId: string }[],
): Problem | undefined {
  if (scope === undefined) return undefined;
  const outside = fields.filter((f) => !scope.allows(f.userId));
  if (outside.length === 0) return undefined;
  const first = outside[0] as (typeof outside)[number];
  return {
    error: 'forbidden',
    message: `${first.field}: this key may act only for users ${scope.text}, not ${JSON.stringify(first.userId)}${outside.length > 1 ? ` (and ${outside.length - 1} more)` : ''}`,
    errors: outside.slice(0, 100).map((f) => ({
      ...(f.index === undefined ? {} : { index: f.index }),
      field: f.field,
      message: `user ${JSON.stringify(f.userId)} is outside this key's users`,
    })),
  };
}

/**
 * Answers requests no route takes: 405 with `Allow` when the path exists under other methods
 * (RFC 9110 §15.5.6), 404 otherwise. Call before declaring routes: it records them as they come.
 */
export function answerUnrouted(app: FastifyInstance): void {
  const methods = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const set = methods.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    methods.set(route.url, set);
  });
  const answer = (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.url.split('?', 1)[0] as string;
    let path = raw;
    try {
      path = decodeURIComponent(raw);
    } catch {
      // a malformed escape names no route: 404 below
    }
    const allow = methods.get(path);
    if (allow)
      return reply
        .code(405)
        .header('allow', [...allow].sort().join(', '))
        .send({
          error: 'method_not_allowed',
          message: `${req.method} is not allowed on ${path}; use ${[...allow].sort().join(' or ')}`,
        } satisfies Problem);
    return reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${req.method} ${raw}` } satisfies Problem);
  };
  // answered at once, before the body is read: fastify would refuse a body it cannot parse (400,
  // or 415) on an undeclared method before the not-found handler could say 405
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return answer(req, reply);
  });
  app.setNotFoundHandler(answer);
}
