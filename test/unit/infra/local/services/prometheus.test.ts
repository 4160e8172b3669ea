import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../../../../config/index.js';
import { localPaths } from '../../../../../infra/local/paths.js';
import { localPrometheusConfig } from '../../../../../infra/local/services/prometheus.js';

/**
 * The Prometheus rules (infra/prometheus/rules/): promtool checks every rules file and runs every
 * unit-test file of rules/tests/, and a few things promtool cannot see are checked here: every
 * alert has its annotations, a runbook section, a firing and a silent test, and every metric the
 * rules read is one the code exports.
 */
const run = promisify(execFile);
const root = projectRoot();
const rulesDir = path.join(root, 'infra/prometheus/rules');
const testsDir = path.join(rulesDir, 'tests');
const ymlIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(dir, f));
const ruleFiles = ymlIn(rulesDir);
const testFiles = ymlIn(testsDir);
const alertsText = readFileSync(path.join(rulesDir, 'towerflow-alerts.yml'), 'utf8');

/** promtool from Debian's `prometheus` package (installed by scripts/bootstrap.sh); never skipped. */
function promtool(): string {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((d) => path.join(d, 'promtool'))
    .find((p) => existsSync(p));
  const found = onPath ?? (existsSync('/usr/bin/promtool') ? '/usr/bin/promtool' : undefined);
  if (!found)
    throw new Error(
      "promtool not found: install Debian's prometheus package (scripts/bootstrap.sh does); the rules cannot be checked without it",
    );
  return found;
}

async function promtoolOk(args: string[]): Promise<void> {
  try {
    await run(promtool(), args, { cwd: root, maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    if (err.stdout === undefined) throw err; // not started at all (e.g. missing)
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout}\n${err.stderr ?? ''}`);
  }
}

/** `- alert: Name` … up to the next rule, per alert. */
function alertBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const starts = [...text.matchAll(/^\s*- alert: (\S+)$/gm)];
  starts.forEach((m, i) => {
    const end = starts[i + 1]?.index ?? text.length;
    blocks.set(m[1]!, text.slice(m.index, end));
  });
  return blocks;
}

describe('Prometheus rules', () => {
  it('has the rules files and their tests', () => {
    expect(ruleFiles.map((f) => path.basename(f))).toEqual(['towerflow-alerts.yml', 'towerflow-slos.yml']);
    expect(testFiles.length).toBeGreaterThan(0);
  });

  it.concurrent.each(ruleFiles.map((f) => [path.relative(root, f)]))(
    'promtool check rules %s',
    async (file) => {
      await promtoolOk(['check', 'rules', file]);
    },
    60_000,
  );

  it.concurrent.each(testFiles.map((f) => [path.relative(root, f)]))(
    'promtool test rules %s',
    async (file) => {
      await promtoolOk(['test', 'rules', file]);
    },
    180_000,
  );

  it('loads the rules from the production configuration (promtool check config)', async () => {
    await promtoolOk(['check', 'config', 'infra/prometheus/prometheus.yml']);
  }, 60_000);

  it('loads the rules from the local Prometheus configuration, by absolute path', async () => {
    const cfg = loadConfig({});
    const text = localPrometheusConfig({ cfg, paths: localPaths(cfg), say: () => {} });
    expect(text).toContain(`rule_files:\n  - '${rulesDir}/*.yml'`);
    const dir = mkdtempSync(path.join(tmpdir(), 'towerflow-prom-'));
    try {
      writeFileSync(path.join(dir, 'prometheus.yml'), text);
      await promtoolOk(['check', 'config', path.join(dir, 'prometheus.yml')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('gives every alert a severity, a summary, a description and a runbook section that exists', () => {
    const alerts = alertBlocks(alertsText);
    expect(alerts.size).toBeGreaterThan(0);
    const runbooks = readFileSync(path.join(root, 'docs/runbooks.md'), 'utf8');
    const anchors = new Set(
      [...runbooks.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const [name, block] of alerts) {
      expect(block, name).toMatch(/^\s+severity: (page|ticket)$/m);
      expect(block, name).toMatch(/^\s+summary: "\S/m);
      expect(block, name).toMatch(/^\s+description: "\S/m);
      const link = /^\s+runbook: "\S.* Runbook: docs\/runbooks\.md#([a-z0-9-]+)"$/m.exec(block);
      expect(link, `${name}: runbook annotation with a docs/runbooks.md link`).not.toBeNull();
      expect(link![1], name).toBe(name.toLowerCase());
      expect(anchors.has(link![1]!), `${name}: no section "## ${name}" in docs/runbooks.md`).toBe(true);
    }
  });

  it('tests every alert firing on a bad series and silent on a healthy one', () => {
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const file of testFiles)
      for (const m of readFileSync(file, 'utf8').matchAll(/alertname: (\S+)\n\s+exp_alerts:( \[\])?/g))
        (m[2] ? silent : firing).add(m[1]!);
    for (const name of alertBlocks(alertsText).keys()) {
      expect(firing.has(name), `${name}: no test where it fires`).toBe(true);
      expect(silent.has(name), `${name}: no test where it stays silent`).toBe(true);
    }
  });

  it('reads only metrics that the code exports', () => {
    const exported = new Set(['up']);
    const scan = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) scan(p);
        else if (e.name.endsWith('.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/'(towerflow_[a-z0-9_]+)'/g)) exported.add(m[1]!);
      }
    };
    for (const dir of ['ingest', 'serving', 'streams', 'batch', 'runtime']) scan(path.join(root, dir));
    for (const file of ruleFiles) {
      const text = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => !/^\s*#/.test(l) && !/^\s+(summary|description|runbook):/.test(l))
        .join('\n');
      const read = new Set([...text.matchAll(/\b(towerflow_[a-z0-9_]+)/g)].map((m) => m[1]!));
      for (const name of read) {
        const base = name.replace(/_(bucket|count|sum)$/, '');
        expect(
          exported.has(name) || exported.has(base),
          `${path.basename(file)}: ${name} is not exported`,
        ).toBe(true);
      }
    }
  });
});
