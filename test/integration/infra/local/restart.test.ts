import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupMembers, isAlive, readPid } from '../../../../infra/local/process.js';
import { pidFileOf } from '../../../../infra/local/service.js';
import { makeContext, status, up } from '../../../../infra/local/stack.js';
import { ITEM_SCALARS } from '../../../../stores/vectors/item-fields.js';
import { openItemVectors } from '../../../../stores/vectors/open.js';

// `kill -9` of the Milvus server, then `infra up milvus`, as an operator would (issue 25): the
// server comes back healthy, a store opened before the kill (as the recall API holds one)
// searches again, and nothing of the dead server is left. Milvus is shared by the whole suite,
// so this test leaves it healthy with its collections loaded.

// what `infra up` said, printed when the test ends (whether the server was seen dying mid-check)
const said: string[] = [];
const ctx = makeContext((line) => said.push(line));
const pidFile = pidFileOf(ctx, 'milvus');
const DIM = 4;
const alias = `test_restart_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
const VERSION = 'v20240101-000000';
const store = openItemVectors(ctx.cfg, { alias, timeoutMs: 10_000 });

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
};
/** The Milvus server: what the pid file names (a launcher of an older layout: its milvus child). */
function serverPid(): number {
  const pid = readPid(pidFile);
  if (pid === undefined) throw new Error(`no ${pidFile}`);
  const isServer = (p: number) => !/^(bash|socat|unshare)\b/.test(cmdline(p).replace(/^\S*\//, ''));
  const found = [pid, ...groupMembers(pid)].find((p) => isAlive(p) && isServer(p));
  if (found === undefined) throw new Error(`no live Milvus server in the group of ${pid}`);
  return found;
}
/** socat processes bridging this home's Milvus, wherever they are. */
function milvusSocats(): { pid: number; pgid: number }[] {
  const out: { pid: number; pgid: number }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const cmd = cmdline(pid);
    if (!cmd.startsWith('socat ') || !cmd.includes(`${ctx.paths.data}/milvus-`)) continue;
    if (!isAlive(pid)) continue;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    out.push({ pid, pgid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) });
  }
  return out;
}
const query = [1, 0, 0, 0];

describe('a killed Milvus server is brought back by `infra up milvus`', () => {
  beforeAll(async () => {
    await store.create(VERSION, { dim: DIM, scalars: ITEM_SCALARS, writeOnce: true });
    await store.insert(
      VERSION,
      Array.from({ length: 10 }, (_, i) => ({
        item_id: `item-${i}`,
        vector: [Math.cos(0.1 * i), Math.sin(0.1 * i), 0, 0],
        category: 'a',
        published_at: 1000 + i,
      })),
    );
    await store.flush(VERSION);
    await store.buildIndex(VERSION);
    await store.load(VERSION);
    await store.switchLive(VERSION);
  });
  afterAll(async () => {
    console.info(said.join('\n'));
    // whatever happened above, later files find Milvus up (a no-op when it already is)
    await up(ctx, ['milvus']);
    await store.dropLive().catch(() => {});
    await store.drop(VERSION).catch(() => {});
    await store.close();
  });

  it('comes back healthy, with its collections loaded and searchable, and no helper of the dead server left', async () => {
    const before = await store.search(VERSION, [query], 3, { consistency: 'Strong' });
    expect(before[0]?.map((h) => h.item_id)).toEqual(['item-0', 'item-1', 'item-2']);
    const oldGroup = readPid(pidFile) as number;
    const killed = serverPid();

    process.kill(killed, 'SIGKILL');
    await up(ctx, ['milvus']);

    // the pid file now names the server itself, and status checks it
    const pid = readPid(pidFile) as number;
    expect(pid).not.toBe(killed);
    expect(serverPid()).toBe(pid);
    expect(cmdline(pid)).toMatch(/milvus/);
    const st = (await status(ctx)).find((s) => s.name === 'milvus');
    expect(st?.up).toBe(true);
    expect(st?.pid).toBe(pid);
    // nothing of the old process group, and every socat of this Milvus is the new server's
    expect(groupMembers(oldGroup)).toEqual([]);
    const socats = milvusSocats();
    expect(socats.filter((s) => s.pgid !== pid)).toEqual([]);
    expect(socats.length).toBeGreaterThan(0);

    // Milvus reloads by itself what was loaded before the kill (the load state is in its
    // metadata): nobody calls load again. Until it has, a search fails: poll, bounded.
    const deadline = Date.now() + 120_000;
    let after: string[] | undefined;
    let loaded = false;
    while (!(after && loaded) && Date.now() < deadline) {
      after = await store
        .search('@live', [query], 3, { consistency: 'Strong' })
        .then((r) => r[0]?.map((h) => h.item_id))
        .catch(() => undefined);
      loaded = await store.isLoaded(VERSION).catch(() => false);
      if (!(after && loaded)) await sleep(500);
    }
    expect(after).toEqual(['item-0', 'item-1', 'item-2']);
    expect(loaded).toBe(true);
  }, 300_000);
});
