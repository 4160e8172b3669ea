import { describe, expect, it } from 'vitest';
import type { RecordedAnswer } from '../../../stores/answers/index.js';
import { seenHash } from '../../../stores/seen/keys.js';
import { attribute } from '../../../streams/online-hits.js';

const answer = (ts: number, items: string[], source = 'personal', version = 'v1'): RecordedAnswer => ({
  ts,
  version,
  source,
  items: items.map(seenHash),
});

describe('online hit attribution', () => {
  const answers = new Map([
    ['u1', answer(1000, ['a', 'b', 'c'])],
    ['u2', answer(5000, ['x'], 'popular', 'v2')],
  ]);

  it('counts events within the window after the answer, with the rank of a hit', () => {
    const out = attribute(
      [
        { user_id: 'u1', item_id: 'b', ts: 1000 }, // at the answer's time: counted, rank 2
        { user_id: 'u1', item_id: 'z', ts: 1500 }, // a miss
        { user_id: 'u1', item_id: 'a', ts: 999 }, // before the answer: not counted
        { user_id: 'u1', item_id: 'c', ts: 1000 + 60_000 }, // the window's last ms: counted
        { user_id: 'u1', item_id: 'c', ts: 1001 + 60_000 }, // past the window: not counted
        { user_id: 'u2', item_id: 'x', ts: 6000 },
        { user_id: 'u3', item_id: 'a', ts: 1000 }, // no answer: not counted
      ],
      answers,
      60_000,
    );
    expect(out).toEqual([
      { version: 'v1', source: 'personal', rank: 2 },
      { version: 'v1', source: 'personal', rank: undefined },
      { version: 'v1', source: 'personal', rank: 3 },
      { version: 'v2', source: 'popular', rank: 1 },
    ]);
  });

  it('no answers, no counts', () => {
    expect(attribute([{ user_id: 'u1', item_id: 'a', ts: 1 }], new Map(), 1000)).toEqual([]);
  });
});
