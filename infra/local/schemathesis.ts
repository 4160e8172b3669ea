import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../config/index.js';
import { quoteTail } from '../../runtime/errors.js';
import { InfraError } from './process.js';

const run = promisify(execFile);

/** Pinned: a new release may add checks, and a check that appears overnight is not a regression. */
export const SCHEMATHESIS_REQUIREMENT = 'schemathesis==4.32.5';

/** The project's own venv for schemathesis, beside the Milvus ones: `$TOWERFLOW_HOME/venv/schemathesis`. */
export const schemathesisVenv = (cfg: Pick<Config, 'homeDir'>): string =>
  path.join(cfg.homeDir, 'venv', 'schemathesis');

/**
 * The `schemathesis` executable, installed from PyPI into the project's venv the first time
 * (a stamp names the installed requirement; a different pin reinstalls). The API tests and CI
 * provision it the same way.
 */
export async function ensureSchemathesis(
  cfg: Pick<Config, 'homeDir' | 'python'>,
  say: (line: string) => void = () => {},
): Promise<string> {
  const dir = schemathesisVenv(cfg);
  const bin = path.join(dir, 'bin', 'schemathesis');
  const stamp = path.join(dir, '.towerflow-requirements');
  const installed = () =>
    existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === SCHEMATHESIS_REQUIREMENT;
  if (installed()) return bin;
  // one installer at a time (test files run in parallel): the others wait for its stamp
  const lock = `${dir}.lock`;
  mkdirSync(path.dirname(dir), { recursive: true });
  if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { force: true });
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    for (const end = Date.now() + 600_000; !installed(); ) {
      if (Date.now() > end || !existsSync(lock))
        throw new InfraError(`schemathesis: another install (${lock}) did not finish`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return bin;
  }
  try {
    await install(cfg, dir, say);
  } finally {
    rmSync(lock, { force: true });
  }
  return bin;
}

async function install(cfg: Pick<Config, 'python'>, dir: string, say: (line: string) => void): Promise<void> {
  say(`schemathesis: creating a Python venv with ${SCHEMATHESIS_REQUIREMENT} (first time only)…`);
  rmSync(dir, { recursive: true, force: true });
  try {
    await run(cfg.python, ['-m', 'venv', dir]);
  } catch (e) {
    throw new InfraError(
      `schemathesis: could not create a Python venv with ${cfg.python} (${(e as Error).message.split('\n')[0]}). ` +
        'Install Python 3.11 with venv (Debian: apt-get install python3-venv) or set TOWERFLOW_PYTHON.',
    );
  }
  try {
    await run(
      path.join(dir, 'bin', 'pip'),
      ['install', '--disable-pip-version-check', '--progress-bar', 'off', SCHEMATHESIS_REQUIREMENT],
      { maxBuffer: 64 << 20 },
    );
  } catch (e) {
    const err = e as { stderr?: string };
    throw new InfraError({
      service: 'schemathesis',
      cause: `schemathesis: pip could not install ${SCHEMATHESIS_REQUIREMENT}`,
      fix: 'a download was refused or there is no wheel for this Python: the end of pip’s output is below',
      detail: quoteTail(err.stderr ?? ''),
    });
  }
  writeFileSync(path.join(dir, '.towerflow-requirements'), `${SCHEMATHESIS_REQUIREMENT}\n`);
}

export interface SchemathesisRun {
  /** 0 when every check passed on every request. */
  exitCode: number;
  /** The whole console report (failures with their reproductions). */
  output: string;
  /** HTTP requests schemathesis made. */
  requests: number;
}

/**
 * `schemathesis run` against a served OpenAPI document with every check, `maxExamples` test cases
 * per operation, the API key in `headers`; counts the requests it made from its NDJSON report.
 */
export async function runSchemathesis(
  bin: string,
  o: {
    schemaUrl: string;
    headers: Record<string, string>;
    maxExamples: number;
    reportDir: string;
    seed?: number;
  },
): Promise<SchemathesisRun> {
  const ndjson = path.join(o.reportDir, 'events.ndjson');
  const config = path.join(o.reportDir, 'schemathesis.toml');
  // 413 is how a too-large batch is refused (INGEST_MAX_BATCH, INGEST_MAX_BODY_BYTES), as documented;
  // schemathesis's default list of rejection statuses lacks it
  writeFileSync(
    config,
    '[checks.negative_data_rejection]\nexpected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]\n',
  );
  const args = [
    '--config-file',
    config,
    'run',
    o.schemaUrl,
    '--checks',
    'all',
    '--max-examples',
    String(o.maxExamples),
    '--workers',
    '2',
    '--no-color',
    '--generation-database',
    'none',
    '--report',
    'ndjson',
    '--report-ndjson-path',
    ndjson,
    ...(o.seed !== undefined ? ['--seed', String(o.seed)] : []),
    ...Object.entries(o.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
  ];
  // cwd: the report folder, where schemathesis also keeps its `.schemathesis/` cache (not the checkout)
  const done = await run(bin, args, {
    cwd: o.reportDir,
    maxBuffer: 64 << 20,
    env: { ...process.env, NO_COLOR: '1' },
  }).then(
    (r) => ({ exitCode: 0, output: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      exitCode: typeof e.code === 'number' ? e.code : 1,
      output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    }),
  );
  const requests = existsSync(ndjson) ? countRequests(readFileSync(ndjson, 'utf8')) : 0;
  return { ...done, requests };
}

/** Requests in an NDJSON event stream: every recorded interaction holds one. */
function countRequests(ndjson: string): number {
  return (ndjson.match(/"request":\s*\{/g) ?? []).length;
}
