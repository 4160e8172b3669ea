import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HBaseClient } from '../../../../clients/hbase/thrift2.js';
import { hbaseAdmin } from '../../../../infra/local/services/hbase.js';
import { down, makeContext, up } from '../../../../infra/local/stack.js';

const ctx = makeContext((m) => process.stderr.write(`[infra] ${m}\n`));
const hbase = HBaseClient.fromConfig(ctx.cfg);
const table = `test_${randomUUID().slice(0, 8)}`;
const key = (i: number) => `r${String(i).padStart(5, '0')}`;

describe('hbase through the Thrift2 gateway (real HBase 2.6)', () => {
  beforeAll(async () => {
    await hbase.ensureNamespace();
    expect(await hbase.createTable(table, [{ name: 'f' }], ['r01000'])).toBe(true);
  });
  afterAll(async () => {
    await hbase.dropTable(table);
    hbase.close();
  });

  it('creates pre-split tables and reports them', async () => {
    expect(await hbase.tableExists(table)).toBe(true);
    expect(await hbase.regionCount(table)).toBe(2);
    expect(await hbase.createTable(table, [{ name: 'f' }])).toBe(false);
  });

  it('puts, gets, multi-puts, multi-gets, scans with start/stop, deletes', async () => {
    await hbase.put(table, 'single', { 'f:a': 'one', 'f:b': Buffer.from([0, 1, 2]) });
    const got = await hbase.get(table, 'single');
    expect(got?.cells.get('f:a')?.toString()).toBe('one');
    expect([...(got?.cells.get('f:b') ?? [])]).toEqual([0, 1, 2]);
    expect((await hbase.get(table, 'single', ['f:a']))?.cells.size).toBe(1);

    await hbase.putMany(
      table,
      Array.from({ length: 2000 }, (_, i) => ({ row: key(i), cells: { 'f:v': `v${i}` } })),
    );
    const many = await hbase.getMany(table, [key(5), 'missing', key(1999)]);
    expect(many.map((r) => r?.cells.get('f:v')?.toString())).toEqual(['v5', undefined, 'v1999']);

    // across the region boundary at r01000
    const slice = await hbase.scanAll(table, { start: key(990), stop: key(1010), batch: 7 });
    expect(slice.map((r) => r.row.toString())).toEqual(Array.from({ length: 20 }, (_, i) => key(990 + i)));
    const reversed = await hbase.scanAll(table, { start: key(1999), reversed: true, limit: 3 });
    expect(reversed.map((r) => r.row.toString())).toEqual([key(1999), key(1998), key(1997)]);

    await hbase.delete(table, 'single');
    expect(await hbase.get(table, 'single')).toBeUndefined();
    await hbase.deleteMany(table, [key(0), key(1)]);
    expect(await hbase.getMany(table, [key(0), key(1)])).toEqual([undefined, undefined]);
  });

  it('increments counters atomically and does check-and-put', async () => {
    expect(await hbase.increment(table, 'ctr', 'f:n', 5)).toBe(5n);
    const after = await Promise.all(
      Array.from({ length: 10 }, () => hbase.increment(table, 'ctr', 'f:n', 2)),
    );
    expect(after.sort((a, b) => Number(a - b)).at(-1)).toBe(25n);
    expect(await hbase.checkAndPut(table, 'cas', 'f:x', undefined, { 'f:x': 'first' })).toBe(true);
    expect(await hbase.checkAndPut(table, 'cas', 'f:x', undefined, { 'f:x': 'second' })).toBe(false);
    expect(await hbase.checkAndPut(table, 'cas', 'f:x', 'first', { 'f:x': 'third' })).toBe(true);
    expect((await hbase.get(table, 'cas'))?.cells.get('f:x')?.toString()).toBe('third');
  });

  it('keeps working after a region split', async () => {
    const before = await hbase.regionCount(table);
    const out = await hbaseAdmin(ctx, ['split', `${ctx.cfg.hbaseNamespace}:${table}`, key(1500)]);
    // one region split in two
    expect(out).toContain(`regions ${before} -> ${before + 1}`);
    expect(await hbase.regionCount(table)).toBe(before + 1);
    await hbase.put(table, key(1600), { 'f:v': 'after-split' });
    expect((await hbase.get(table, key(1600)))?.cells.get('f:v')?.toString()).toBe('after-split');
    const all = await hbase.scanAll(table, { start: 'r', stop: 's', batch: 333 });
    expect(all.length).toBe(1998);
  });

  it('keeps working after an HBase restart (regions looked up afresh)', async () => {
    await down(ctx, ['hbase']);
    await up(ctx, ['hbase']);
    // first calls may race region re-assignment: retry briefly
    let row: Awaited<ReturnType<typeof hbase.get>>;
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        row = await hbase.get(table, key(1600));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    expect(row?.cells.get('f:v')?.toString()).toBe('after-split');
    await hbase.put(table, 'post-restart', { 'f:v': 'ok' });
    expect((await hbase.scanAll(table, { start: 'r', stop: 's' })).length).toBe(1998);
  });
});
