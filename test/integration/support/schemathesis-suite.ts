import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/index.js';
import { IsolatedStack } from '../../../infra/local/isolated-stack.js';
import { ensureSchemathesis, runSchemathesis } from '../../../infra/local/schemathesis.js';

export interface SchemathesisTarget {
  api: string;
  app: 'ingest' | 'serve';
  redisDb: number;
  portOffset: number;
  url: (s: IsolatedStack) => string;
  key: (s: IsolatedStack) => string;
  maxExamples: number;
}

// An API against its own served document: every schemathesis check, 0 failures. Its own topics,
// groups, namespace, ports and Redis database (IsolatedStack), so other tests are untouched;
// schemathesis itself lives in the main home's venv (installed once, infra/local/schemathesis.ts).
export function schemathesisSuite(t: SchemathesisTarget): void {
  describe(`${t.api} API under schemathesis`, () => {
    const stack = new IsolatedStack({
      redisDb: t.redisDb,
      portOffset: t.portOffset,
      extraEnv: { LOG_LEVEL: 'warn' },
    });
    let bin: string;

    beforeAll(async () => {
      [bin] = await Promise.all([ensureSchemathesis(loadConfig()), stack.up([t.app])]);
    }, 300_000);
    afterAll(() => stack.close(), 120_000);

    it('answers every generated request as its document says: 0 failures of any check', async () => {
      const reportDir = mkdtempSync(path.join(tmpdir(), 'towerflow-schemathesis-'));
      const r = await runSchemathesis(bin, {
        schemaUrl: `${t.url(stack)}/openapi.json`,
        // `Authorization` as the document's bearer scheme names it: schemathesis removes it by that
        // name to check that a request without it is refused
        headers: { Authorization: `Bearer ${t.key(stack)}` },
        maxExamples: t.maxExamples,
        reportDir,
      }).finally(() => rmSync(reportDir, { recursive: true, force: true }));
      expect({ exitCode: r.exitCode, output: r.exitCode === 0 ? '' : r.output }).toEqual({
        exitCode: 0,
        output: '',
      });
      expect(r.requests).toBeGreaterThanOrEqual(300);
    }, 240_000);
  });
}
