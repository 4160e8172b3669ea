import { describe, expect, it } from 'vitest';
import { popularityKeys } from '../../../../stores/popularity/keys.js';

describe('popularityKeys', () => {
  it('buckets by the UTC hour and day of the event time', () => {
    // 2024-01-31T17:59:59.999Z
    expect(popularityKeys(1_706_723_999_999)).toEqual({
      hour: 'tf:pop:h:2024013117',
      day: 'tf:pop:d:20240131',
      all: 'tf:pop:all',
    });
  });

  it('moves to the next hour and day exactly at the boundary', () => {
    // 2024-01-31T23:59:59.999Z and 2024-02-01T00:00:00.000Z
    expect(popularityKeys(1_706_745_599_999)).toMatchObject({
      hour: 'tf:pop:h:2024013123',
      day: 'tf:pop:d:20240131',
    });
    expect(popularityKeys(1_706_745_600_000)).toMatchObject({
      hour: 'tf:pop:h:2024020100',
      day: 'tf:pop:d:20240201',
    });
  });

  it('covers the epoch', () => {
    expect(popularityKeys(0)).toEqual({
      hour: 'tf:pop:h:1970010100',
      day: 'tf:pop:d:19700101',
      all: 'tf:pop:all',
    });
  });
});

describe('popularityKeys across many hours', () => {
  it('gives each hour its own keys, before and after the cache of recent hours fills', () => {
    const base = Date.UTC(2024, 0, 31, 0, 0, 0);
    for (let h = 0; h < 200; h++) {
      const ts = base + h * 3_600_000 + ((h * 7919) % 3_600_000);
      const iso = new Date(ts).toISOString();
      const day = iso.slice(0, 10).replaceAll('-', '');
      expect(popularityKeys(ts)).toEqual({
        hour: `tf:pop:h:${day}${iso.slice(11, 13)}`,
        day: `tf:pop:d:${day}`,
        all: 'tf:pop:all',
      });
    }
  });

  it('handles times before the epoch hour boundary (negative ms)', () => {
    expect(popularityKeys(-1)).toMatchObject({ hour: 'tf:pop:h:1969123123', day: 'tf:pop:d:19691231' });
  });
});
