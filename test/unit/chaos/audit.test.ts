import { describe, expect, it } from 'vitest';
import { compareTail, countDeltas, countHistory } from '../../../chaos/audit.js';

const row = (id: string) => ({ event_id: id, user_id: 'u', item_id: 'i', type: 'click', ts: 1 });

describe('drill books', () => {
  it('counts HBase rows against the acknowledged ids: lost, doubled, unacknowledged and foreign apart', () => {
    const accepted = new Set(['a', 'b', 'c']);
    const posted = new Set(['a', 'b', 'c', 'd']);
    expect(countHistory([row('a'), row('b'), row('c')], { accepted, posted })).toEqual({
      lost: 0,
      doubled: 0,
      rows: 3,
      unacknowledged: 0,
      foreign: 0,
    });
    // c lost, a twice, d applied though its answer never came, x from nowhere
    expect(countHistory([row('a'), row('a'), row('b'), row('d'), row('x')], { accepted, posted })).toEqual({
      lost: 1,
      doubled: 1,
      rows: 5,
      unacknowledged: 1,
      foreign: 1,
    });
  });

  it('compares a held sequence with the expected tail', () => {
    expect(compareTail(['a', 'b', 'c'], ['a', 'b', 'c'])).toEqual({ lost: 0, doubled: 0 });
    expect(compareTail(['a', 'b', 'c'], ['a', 'b', 'b'])).toEqual({ lost: 1, doubled: 1 });
    expect(compareTail(['a', 'b', 'c'], ['a', 'a', 'b', 'c'])).toEqual({ lost: 0, doubled: 1 });
  });

  it('counts popularity deltas per item, so a double on one item does not hide a loss on another', () => {
    const truth = new Map([
      ['i1', 3],
      ['i2', 2],
    ]);
    const items = ['i1', 'i2', 'i3'];
    expect(countDeltas(items, (i) => [3, 2, 0][i] as number, truth)).toEqual({ lost: 0, doubled: 0 });
    expect(countDeltas(items, (i) => [4, 1, 0][i] as number, truth)).toEqual({ lost: 1, doubled: 1 });
    expect(countDeltas(items, (i) => [3, 2, 2][i] as number, truth)).toEqual({ lost: 0, doubled: 2 });
  });
});
