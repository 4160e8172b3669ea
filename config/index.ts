import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS, type SettingName, type SettingSpec } from './settings.js';

type ValueOf<S extends SettingSpec> = S['kind'] extends 'int' | 'number'
  ? number
  : S['kind'] extends 'list'
    ? string[]
    : S extends { values: readonly (infer V)[] }
      ? V
      : string;

export type Config = { [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> } & {
  /** Absolute project root (the folder holding package.json). */
  root: string;
  /** Absolute path of TOWERFLOW_HOME. */
  homeDir: string;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Root of the checkout: config/ sits one level below it, in source and in dist/. */
export function projectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.resolve(here, '..');
  return path.basename(up) === 'dist' ? path.resolve(up, '..') : up;
}

function parseOne(spec: SettingSpec, raw: string): unknown {
  switch (spec.kind) {
    case 'int': {
      if (!/^\d+$/.test(raw.trim()))
        throw new ConfigError(`${spec.env} must be a whole number, got "${raw}"`);
      const n = Number.parseInt(raw, 10);
      if (spec.min !== undefined && n < spec.min)
        throw new ConfigError(`${spec.env} must be at least ${spec.min}, got ${n}`);
      return n;
    }
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n) || n < 0)
        throw new ConfigError(`${spec.env} must be a non-negative number, got "${raw}"`);
      return n;
    }
    case 'list': {
      // a list whose default is empty may stay empty (e.g. no configured API keys)
      if (raw.trim() === '' && spec.default === '') return [];
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.length === 0) throw new ConfigError(`${spec.env} must list at least one value`);
      return items;
    }
    case 'enum': {
      if (!spec.values?.includes(raw))
        throw new ConfigError(`${spec.env} must be one of ${spec.values?.join(', ')}, got "${raw}"`);
      return raw;
    }
    default:
      return raw;
  }
}

/** Reads every setting from `env` (default: process.env), applying defaults. Throws ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) out[name] = readSetting(name, env);
  const root = projectRoot();
  out.root = root;
  out.homeDir = path.resolve(root, out.home as string);
  return out as Config;
}

/** One setting, parsed as `loadConfig` does: for code that must run before a Config exists. */
export function readSetting<K extends SettingName>(name: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const spec: SettingSpec = SETTINGS[name];
  const raw = env[spec.env];
  return parseOne(spec, raw === undefined || raw === '' ? spec.default : raw) as Config[K];
}

/** Markdown table of all settings, for docs/configuration.md. */
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS as Record<string, SettingSpec>).map(
    (s) =>
      `| \`${s.env}\` | \`${s.default}\` | ${s.doc}${s.values ? ` One of: ${s.values.join(', ')}.` : ''} |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
