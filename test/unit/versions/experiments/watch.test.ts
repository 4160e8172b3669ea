import { describe, expect, it } from 'vitest';
import type { ExperimentDefinition } from '../../../../versions/experiments/definition.js';
import { ExperimentWatch, servable } from '../../../../versions/experiments/watch.js';

const def = (over: Partial<ExperimentDefinition> = {}): ExperimentDefinition => ({
  name: 'exp-a',
  alias: 'towerflow',
  mode: 'ab',
  control: 'v20240101-030000',
  candidate: 'v20240102-030000',
  share: 0.1,
  startedAt: '2024-01-02T04:00:00.000Z',
  state: 'running',
  ...over,
});

/** A read whose answers the test releases one by one. */
function gatedRead() {
  const waiting: ((d: ExperimentDefinition | undefined) => void)[] = [];
  let reads = 0;
  return {
    read: () => {
      reads++;
      return new Promise<ExperimentDefinition | undefined>((resolve) => waiting.push(resolve));
    },
    answer: (d: ExperimentDefinition | undefined) => (waiting.shift() as (x: typeof d) => void)(d),
    get reads() {
      return reads;
    },
  };
}

describe('servable experiment definitions', () => {
  it('takes a running definition with version names and a share strictly inside (0, 1)', () => {
    expect(servable(def())).toBe(true);
    expect(servable(def({ mode: 'shadow' }))).toBe(true);
  });

  it('refuses what would become a bad path, collection name or threshold', () => {
    for (const bad of [
      def({ candidate: '../../etc' }),
      def({ control: 'v1; drop' }),
      def({ share: 0 }),
      def({ share: 1 }),
      def({ share: Number.NaN }),
      def({ mode: 'canary' as 'ab' }),
      def({ state: 'aborted' }),
    ])
      expect(servable(bad)).toBe(false);
    expect(servable(undefined)).toBe(false);
  });
});

describe('ExperimentWatch', () => {
  it('holds what it read, and a change is reported once', async () => {
    let current: ExperimentDefinition | undefined = def();
    const changes: (string | undefined)[] = [];
    const w = new ExperimentWatch(async () => current, 0, { onChange: (d) => changes.push(d?.name) });
    await w.start();
    expect(w.current?.name).toBe('exp-a');
    await w.refresh();
    current = undefined;
    await w.refresh();
    expect(w.current).toBeUndefined();
    expect(changes).toEqual(['exp-a', undefined]);
  });

  it('reads once more after a refresh asked for while a read was in flight (that read may predate the change)', async () => {
    const g = gatedRead();
    const w = new ExperimentWatch(g.read, 0);
    const first = w.refresh();
    const second = w.refresh(); // the announcement arrives while the first read is out
    expect(g.reads).toBe(1);
    g.answer(undefined); // the first read saw the state before the start
    await new Promise((r) => setImmediate(r));
    expect(g.reads).toBe(2);
    g.answer(def());
    await Promise.all([first, second]);
    expect(w.current?.name).toBe('exp-a');
  });

  it('keeps the last value while Redis fails, and ignores an unservable definition', async () => {
    let fail = false;
    let current: ExperimentDefinition | undefined = def();
    const errors: unknown[] = [];
    const w = new ExperimentWatch(
      async () => {
        if (fail) throw new Error('ECONNREFUSED');
        return current;
      },
      0,
      { onError: (e) => errors.push(e) },
    );
    await w.start();
    fail = true;
    await w.refresh();
    expect([w.current?.name, errors.length]).toEqual(['exp-a', 1]);
    fail = false;
    current = def({ candidate: 'not a version' });
    await w.refresh();
    expect(w.current).toBeUndefined();
  });

  it('re-reads every refreshMs on its own', async () => {
    let reads = 0;
    const w = new ExperimentWatch(async () => {
      reads++;
      return undefined;
    }, 50);
    await w.start();
    await expect.poll(() => reads, { timeout: 2000, interval: 10 }).toBe(3);
    w.stop();
    const after = reads;
    await new Promise((r) => setTimeout(r, 150));
    expect(reads).toBe(after);
  });
});
