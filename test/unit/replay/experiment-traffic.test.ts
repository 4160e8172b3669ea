import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset, Interaction } from '../../../model/data/types.js';
import type { IngestClient } from '../../../replay/client.js';
import { behaviourEvents } from '../../../replay/events.js';
import { holdOutNext, type SimulatedUser, simulateUsers } from '../../../replay/experiment-traffic.js';
import type { BehaviourEvent } from '../../../schemas/behaviour.js';

const x = (user: string, item: string, ts: number, key = `${user}-${item}-${ts}`): Interaction => ({
  user,
  item,
  ts,
  key,
  row: 0,
});

function dataset(interactions: Interaction[]): Dataset {
  return { name: 'sim', interactions, items: new Map(), users: new Map(), skipped: [] };
}

describe('holdOutNext', () => {
  it('holds out each user’s last n interactions in time order, and keeps users with n or fewer whole', () => {
    // file order is not time order; a tie in time is broken by the key
    const rows = [
      x('a', 'i3', 30),
      x('a', 'i1', 10),
      x('b', 'i9', 5),
      x('a', 'i4', 30, 'a-0'),
      x('a', 'i2', 20),
      x('b', 'i8', 1),
    ];
    const split = holdOutNext(dataset(rows), 2);
    expect([...split.next].map(([u, xs]) => [u, xs.map((i) => i.item)])).toEqual([['a', ['i4', 'i3']]]);
    expect(split.past.map((i) => i.item)).toEqual(['i1', 'i9', 'i2', 'i8']);
    expect(() => holdOutNext(dataset(rows), 0)).toThrow(RangeError);
  });
});

describe('simulateUsers', () => {
  /** A recall API that shows user uN the items i0…i4 from the arm of N's parity, and logs each request. */
  const asked: string[] = [];
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '', 'http://x').searchParams;
      const user = q.get('user_id') as string;
      asked.push(`${user} k=${q.get('k')} ${req.headers.authorization}`);
      if (user === 'broken') {
        res.writeHead(503).end('{"error":"unavailable"}');
        return;
      }
      const arm = Number(user.slice(1)) % 2 === 0 ? 'control' : 'candidate';
      // `late` sees the experiment from its third request on
      const outside = user === 'late' && asked.filter((a) => a.startsWith('late ')).length <= 2;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          request_id: `r-${user}`,
          user_id: user,
          experiment: outside ? null : 'e',
          arm: outside ? null : arm,
          model_version: arm === 'control' ? 'v1' : 'v2',
          source: 'personal',
          items: ['i0', 'i1', 'i2', 'i3', 'i4'].map((item_id) => ({ item_id, score: 1 })),
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** The ingest API as the driver sees it: what was posted, and when relative to the settles. */
  function ingest(log: string[]) {
    const posted: BehaviourEvent[] = [];
    const client = {
      post: async (path: string, events: unknown[]) => {
        log.push(`post ${path} ${events.length}`);
        posted.push(...(events as BehaviourEvent[]));
        return events.length;
      },
    } as unknown as IngestClient;
    return { client, posted };
  }

  const users: SimulatedUser[] = ['u0', 'u1', 'u2', 'u3', 'u4'].map((u, n) => ({
    user: u,
    // u0 and u1 do what they were shown first, the others something else
    next: [x(u, n < 2 ? 'i2' : 'other', 100), x(u, n < 1 ? 'i4' : 'other2', 200)],
  }));
  const ds = dataset(users.flatMap((u) => u.next));

  it('asks each user’s answer, settles, then posts their next events as now, and tallies hits by arm', async () => {
    asked.length = 0;
    const log: string[] = [];
    const { client, posted } = ingest(log);
    let clock = 1_000_000;
    const r = await simulateUsers(ds, users, client, {
      recall: { url, key: 'rk' },
      k: 5,
      seed: 3,
      round: 2,
      concurrency: 1,
      now: () => (clock += 1000),
      settle: async (answered) => {
        log.push(`settle ${answered}`);
      },
    });
    // rounds of two: answered, settled, posted
    expect(log).toEqual([
      'settle 2',
      'post /v1/events 4',
      'settle 4',
      'post /v1/events 4',
      'settle 5',
      'post /v1/events 2',
    ]);
    const order = r.answers.map((a) => a.user);
    expect([...order].sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    expect(asked).toEqual(order.map((u) => `${u} k=5 Bearer rk`));
    // the events are the dataset's (ids as a replay gives them), in user order, stamped after the answers
    const ids = new Map(behaviourEvents(ds).map((e) => [e.event_id, e]));
    expect(posted.map((e) => e.user_id)).toEqual(order.flatMap((u) => [u, u]));
    for (const e of posted) expect({ ...ids.get(e.event_id), ts: e.ts }).toEqual(e);
    expect(posted.map((e) => e.ts)).toEqual([
      1_001_000, 1_001_001, 1_001_000, 1_001_001, 1_002_000, 1_002_001, 1_002_000, 1_002_001, 1_003_000,
      1_003_001,
    ]);
    expect(r.byArm).toEqual({
      control: { users: 3, events: 6, hits: 2 }, // u0: both; u2, u4: none
      candidate: { users: 2, events: 4, hits: 1 }, // u1: its first
    });
    expect([r.users, r.events]).toEqual([5, 10]);
    expect(r.answers.find((a) => a.user === 'u1')).toEqual({
      user: 'u1',
      request_id: 'r-u1',
      experiment: 'e',
      arm: 'candidate',
      model_version: 'v2',
      source: 'personal',
      items: ['i0', 'i1', 'i2', 'i3', 'i4'],
    });
  });

  it('is deterministic by seed: the same seed asks in the same order, another seed in another', async () => {
    const orderOf = async (seed: number) =>
      (
        await simulateUsers(ds, users, ingest([]).client, { recall: { url, key: 'rk' }, k: 5, seed })
      ).answers.map((a) => a.user);
    expect(await orderOf(3)).toEqual(await orderOf(3));
    expect(await orderOf(3)).not.toEqual(await orderOf(4));
  });

  it('asks again while an answer is outside the experiment, and only then', async () => {
    asked.length = 0;
    const late = { user: 'late', next: [x('late', 'i1', 1)] };
    const once = await simulateUsers(ds, [late], ingest([]).client, {
      recall: { url, key: 'rk' },
      k: 5,
      seed: 1,
    });
    expect([asked.length, once.answers[0]?.experiment]).toEqual([1, null]);
    asked.length = 0;
    const r = await simulateUsers(ds, [late], ingest([]).client, {
      recall: { url, key: 'rk' },
      experiment: 'e',
      k: 5,
      seed: 1,
    });
    expect(asked).toHaveLength(3);
    expect([r.answers[0]?.experiment, r.answers[0]?.arm, r.byArm]).toEqual([
      'e',
      'candidate',
      { candidate: { users: 1, events: 1, hits: 1 } },
    ]);
  });

  it('stops at an answer other than 200, naming the user and the status', async () => {
    const { client, posted } = ingest([]);
    await expect(
      simulateUsers(ds, [{ user: 'broken', next: [x('broken', 'i1', 1)] }], client, {
        recall: { url, key: 'rk' },
        k: 5,
        seed: 1,
      }),
    ).rejects.toThrow('the recall API answered 503 for user broken');
    expect(posted).toEqual([]);
  });
});
