import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../config/index.js';

// The built CLI as a user runs it (dist/, which `npm test` builds first; alone, run
// `npx tsc -p tsconfig.json` before): expected failures are one line on stderr, no stack, and
// the exit code docs/cli.md documents. None of these needs a service. Not rebuilt here: the
// integration tests may be running the same dist/ at the same time.
const exec = promisify(execFile);
const root = projectRoot();
const bin = path.join(root, 'bin', 'towerflow.js');

async function towerflow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

// a process start loads every command's modules: seconds on a busy machine
describe('towerflow (built CLI)', { timeout: 60_000 }, () => {
  it('a missing dataset folder: one line naming it and the fix, exit code 2', async () => {
    const r = await towerflow('train', '--dataset', 'datasets/no-such-dataset');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'towerflow: datasets/no-such-dataset: no interactions.csv (project format) or ratings.csv (MovieLens layout) found. Pass a dataset folder that holds one, e.g. datasets/ml-latest-small (formats: docs/design.md §5)\n',
    );
  });

  it('a bad option value: commander’s message, exit code 2, no stack', async () => {
    const r = await towerflow('batch', 'run', '--date', '2024-02-30');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: option '--date <YYYY-MM-DD>' argument '2024-02-30' is invalid. --date must be a day as YYYY-MM-DD\n",
    );
  });

  it('a service that does not answer: one line naming it and its setting, exit code 3', async () => {
    const r = await towerflow(
      'replay',
      '--dataset',
      'datasets/ml-latest-small',
      '--url',
      'http://127.0.0.1:1',
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'towerflow: the ingest API at http://127.0.0.1:1 is not reachable. Start it with `towerflow apps up ingest`, or pass its address with --url\n',
    );
  });

  it('help exits 0; an unknown command exits 2', async () => {
    expect((await towerflow('--help')).code).toBe(0);
    const r = await towerflow('nosuch');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: unknown command 'nosuch'");
  });
});
