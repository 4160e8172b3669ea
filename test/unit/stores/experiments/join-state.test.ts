import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  decodeExposure,
  decodeState,
  encodeEvent,
  encodeExposure,
  encodeState,
  joinStateKey,
  type UserJoinState,
} from '../../../../stores/experiments/join-state.js';

describe('join state: stored form', () => {
  const x = {
    ts: 42,
    request_id: 'r-1',
    experiment: 'exp-a',
    arm: 'candidate' as const,
    items: ['i1', 'i2'],
  };
  const e = {
    ts: 50,
    event_id: 'ev-1',
    item_id: 'i2',
    claims: [
      { experiment: 'exp-a', arm: 'candidate' as const, position: 2, source: { ts: 42, request_id: 'r-1' } },
      { experiment: 'exp-b', arm: 'control' as const, position: 0 },
    ],
  };

  it('round-trips exposures and events with their claims', () => {
    expect(encodeExposure(x)).toEqual(['x|r-1', '42|exp-a|candidate|i1,i2']);
    expect(decodeExposure(...encodeExposure(x))).toEqual(x);
    expect(decodeExposure(...encodeExposure({ ...x, items: [] }))).toEqual({ ...x, items: [] });
    expect(encodeEvent(e)).toEqual(['e|ev-1', '50|i2|exp-a:candidate:2:42:r-1,exp-b:control:0']);
    expect(decodeEvent(...encodeEvent(e))).toEqual(e);
    expect(decodeEvent(...encodeEvent({ ...e, claims: [] }))).toEqual({ ...e, claims: [] });
  });

  it('refuses to write what would not read back', () => {
    expect(() => encodeExposure({ ...x, items: ['a,b'] })).toThrow('item is not an id');
    expect(() => encodeExposure({ ...x, request_id: 'r|1' })).toThrow('request_id is not an id');
    expect(() => encodeExposure({ ...x, arm: 'other' as 'control' })).toThrow('not an arm');
    expect(() => encodeEvent({ ...e, item_id: 'a:b' })).toThrow('item is not an id');
    expect(() => encodeEvent({ ...e, ts: -1 })).toThrow('not a time');
  });

  it('does not trust a foreign value', () => {
    expect(decodeExposure('x|r-1', '42|exp-a|candidate')).toBeUndefined();
    expect(decodeExposure('x|r-1', '42|exp-a|other|i1')).toBeUndefined();
    expect(decodeExposure('x|r-1', '42|exp a|control|i1')).toBeUndefined();
    expect(decodeExposure('x|r-1', '4.2|exp-a|control|i1')).toBeUndefined();
    expect(decodeExposure('e|r-1', '42|exp-a|control|i1')).toBeUndefined();
    expect(decodeEvent('e|ev-1', '50|i2|exp-a:candidate')).toBeUndefined();
    expect(decodeEvent('e|ev-1', '50|i2|exp-a:candidate:x')).toBeUndefined();
    expect(decodeEvent('e|ev-1', '50|i2|exp-a:candidate:2:42')).toBeUndefined();
  });

  it('reads a state back in join order (by time, then id), its version apart, and leaves out what does not decode', () => {
    const s: UserJoinState = {
      exposures: [x, { ...x, request_id: 'r-0' }, { ...x, ts: 1, request_id: 'r-9' }],
      events: [e, { ...e, ts: 49, event_id: 'ev-2' }],
    };
    const fields = encodeState(s);
    fields.set('v', '7');
    fields.set('x|junk', 'not an exposure');
    fields.set('~', '123'); // what an earlier layout kept in the key
    const { version, state } = decodeState(fields);
    expect(version).toBe(7);
    expect(state.exposures.map((o) => o.request_id)).toEqual(['r-9', 'r-0', 'r-1']);
    expect(state.events.map((o) => o.event_id)).toEqual(['ev-2', 'ev-1']);
    expect(decodeState(new Map()).version).toBe(0);
  });

  it('builds keys from validated ids only', () => {
    expect(joinStateKey('u1')).toBe('tf:exp:j:u1');
    expect(() => joinStateKey('u:1')).toThrow();
  });
});
