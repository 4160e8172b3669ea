import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../../cli/output/table.js';

describe('formatTable', () => {
  it('prints a header and rows without index column, quotes or borders; numbers right-aligned', () => {
    const text = formatTable([
      { service: 'redis', up: 'up', pid: 5185, memory: '51 MiB' },
      { service: 'redis-exporter', up: 'down', pid: null, memory: '-' },
      { service: 'kafka', up: 'up', pid: 12, memory: '491 MiB' },
    ]);
    expect(text).toBe(
      [
        'service         up     pid  memory',
        'redis           up    5185  51 MiB',
        'redis-exporter  down     -  -',
        'kafka           up      12  491 MiB',
        '',
      ].join('\n'),
    );
  });

  it('right-aligns the columns named as quantities', () => {
    const text = formatTable(
      [
        { job: 'kafka', memory: '51 MiB' },
        { job: 'hbase', memory: '491 MiB' },
      ],
      { right: ['memory'] },
    );
    expect(text.split('\n')).toEqual(['job     memory', 'kafka   51 MiB', 'hbase  491 MiB', '']);
  });

  it('prints nothing for no rows, and plain text (no colour codes) for a piped terminal', () => {
    expect(formatTable([])).toBe('');
    expect(formatTable([{ a: 'x', b: 1 }])).toBe('a  b\nx  1\n');
  });
});
