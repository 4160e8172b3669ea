import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Redis } from '../../../clients/redis.js';
import { ModelRegistry } from '../../../versions/registry.js';

// The registry's folders on disk: which unreferenced versions a retire may remove. Candidates
// built without publishing (`batch run --no-publish`, or held during an experiment) wait for an
// experiment, the newest few of them; everything else no pointer names is an orphan.

describe('orphaned version folders', () => {
  it('leave out the newest kept candidates, and only those', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'towerflow-registry-'));
    // state() and the folders only: nothing here reads Redis
    const registry = new ModelRegistry(
      { modelRegistryDir: '', homeDir: home },
      undefined as unknown as Redis,
    );
    const versions = ['v20260101-000000', 'v20260102-000000', 'v20260103-000000', 'v20260104-000000'];
    for (const v of versions) mkdirSync(registry.versionDir(v), { recursive: true });
    // two failed runs' leftovers and two candidates
    await registry.markCandidate('v20260102-000000');
    await registry.markCandidate('v20260104-000000');
    expect((await registry.orphans()).sort()).toEqual(versions);
    expect((await registry.orphans(1)).sort()).toEqual([
      'v20260101-000000',
      'v20260102-000000',
      'v20260103-000000',
    ]);
    expect((await registry.orphans(2)).sort()).toEqual(['v20260101-000000', 'v20260103-000000']);
    expect((await registry.orphans(5)).sort()).toEqual(['v20260101-000000', 'v20260103-000000']);
  });
});
