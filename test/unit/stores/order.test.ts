import { describe, expect, it } from 'vitest';
import { compareEvents, latestN, type Ordered } from '../../../stores/order.js';

const ev = (ts: number, event_id: string): Ordered & { tag: string } => ({
  ts,
  event_id,
  tag: `${ts}/${event_id}`,
});

describe('compareEvents', () => {
  it('orders by ts first', () => {
    expect(compareEvents(ev(1, 'z'), ev(2, 'a'))).toBeLessThan(0);
    expect(compareEvents(ev(2, 'a'), ev(1, 'z'))).toBeGreaterThan(0);
  });

  it('breaks ts ties by event id in code-unit order', () => {
    expect(compareEvents(ev(5, 'a'), ev(5, 'ab'))).toBeLessThan(0);
    expect(compareEvents(ev(5, 'ab'), ev(5, 'a'))).toBeGreaterThan(0);
    expect(compareEvents(ev(5, 'B'), ev(5, 'a'))).toBeLessThan(0); // 'B' < 'a' in ASCII
    expect(compareEvents(ev(5, 'a-'), ev(5, 'a0'))).toBeLessThan(0);
    expect(compareEvents(ev(5, '10'), ev(5, '9'))).toBeLessThan(0); // not numeric
  });

  it('is zero only for equal ts and id', () => {
    expect(compareEvents(ev(5, 'a'), ev(5, 'a'))).toBe(0);
    expect(compareEvents(ev(5, 'a'), ev(6, 'a'))).toBe(-1);
    expect(compareEvents(ev(5, 'a'), ev(5, 'b'))).toBe(-1);
    expect(compareEvents(ev(5, 'b'), ev(5, 'a'))).toBe(1);
  });

  it('handles timestamps far apart without overflow', () => {
    expect(compareEvents(ev(0, 'a'), ev(4_102_444_800_000, 'a'))).toBeLessThan(0);
    expect(compareEvents(ev(4_102_444_800_000, 'a'), ev(0, 'a'))).toBeGreaterThan(0);
  });
});

describe('latestN', () => {
  const events = [ev(3, 'c'), ev(1, 'a'), ev(3, 'a'), ev(2, 'x'), ev(3, 'b'), ev(1, 'b')];

  it('returns the n latest, oldest first', () => {
    expect(latestN(events, 3).map((e) => e.tag)).toEqual(['3/a', '3/b', '3/c']);
    expect(latestN(events, 4).map((e) => e.tag)).toEqual(['2/x', '3/a', '3/b', '3/c']);
  });

  it('breaks ties on ts by event id: the greater id is the later event', () => {
    expect(latestN(events, 2).map((e) => e.tag)).toEqual(['3/b', '3/c']);
    expect(latestN([ev(7, 'ab'), ev(7, 'a')], 1).map((e) => e.tag)).toEqual(['7/ab']);
  });

  it('returns everything, sorted, when n exceeds the length', () => {
    expect(latestN(events, 100).map((e) => e.tag)).toEqual(['1/a', '1/b', '2/x', '3/a', '3/b', '3/c']);
    expect(latestN(events, events.length).map((e) => e.tag)).toEqual([
      '1/a',
      '1/b',
      '2/x',
      '3/a',
      '3/b',
      '3/c',
    ]);
  });

  it('returns nothing for n = 0 or an empty input', () => {
    expect(latestN(events, 0)).toEqual([]);
    expect(latestN([], 5)).toEqual([]);
  });

  it('does not reorder its input', () => {
    const copy = [...events];
    latestN(events, 2);
    expect(events).toEqual(copy);
  });

  it('returns the same objects, with their other fields', () => {
    const [only] = latestN(events, 1);
    expect(only).toBe(events[0]);
  });
});
