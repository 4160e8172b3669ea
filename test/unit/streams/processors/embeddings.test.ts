import { describe, expect, it } from 'vitest';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import { recentFingerprint } from '../../../../stores/embeddings/recent.js';
import { dropApplied, eventsByUser, microBatches } from '../../../../streams/processors/embeddings.js';

const ev = (id: string, user: string, ts: number): BehaviourEvent => ({
  v: 1,
  event_id: id,
  user_id: user,
  item_id: 'i1',
  type: 'click',
  ts,
});

describe('embeddings processor micro-batching', () => {
  it('cuts a partition batch into consecutive slices of at most EMBEDDINGS_BATCH_EVENTS', () => {
    const xs = Array.from({ length: 130 }, (_, i) => i);
    const parts = microBatches(xs, 64);
    expect(parts.map((p) => p.length)).toEqual([64, 64, 2]);
    expect(parts.flat()).toEqual(xs);
    expect(microBatches([], 64)).toEqual([]);
    expect(microBatches([1, 2], 0)).toEqual([[1], [2]]);
  });

  it("groups each user's events in sequence order (time, then event id)", () => {
    const g = eventsByUser([ev('b', 'u1', 20), ev('x', 'u2', 5), ev('a', 'u1', 20), ev('c', 'u1', 10)]);
    expect([...g.keys()]).toEqual(['u1', 'u2']);
    expect(g.get('u1')?.map((e) => e.event_id)).toEqual(['c', 'a', 'b']);
  });
});

describe('events applied before are dropped by event id', () => {
  const k = (offset: number, id: string, user = 'u') => ({
    offset,
    event: { event_id: id, user_id: user, item_id: 'i', type: 'click', ts: 1 },
  });
  it('drops an id the user applied before and a repeat within the batch, keeps the rest in order', () => {
    const users = new Map([
      ['u', { applied: new Set([recentFingerprint('old').toString('hex')]) }],
      ['w', { applied: new Set<string>() }],
    ]);
    const fresh = [k(10, 'old'), k(11, 'a'), k(12, 'b', 'w'), k(13, 'a'), k(14, 'c')];
    expect(dropApplied(fresh, users).map((x) => x.offset)).toEqual([11, 12, 14]);
  });
});
