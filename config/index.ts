import { readFileSync } from 'node:fs';
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
      const unknown = spec.values ? items.filter((i) => !spec.values?.includes(i)) : [];
      if (unknown.length > 0)
        throw new ConfigError(
          `${spec.env} may list only ${spec.values?.join(', ')}, got "${unknown.join(', ')}"`,
        );
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
  return withLocalCredentials(out as Config);
}

/** One setting, parsed as `loadConfig` does: for code that must run before a Config exists. */
export function readSetting<K extends SettingName>(name: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const spec: SettingSpec = SETTINGS[name];
  const raw = rawSetting(spec, env);
  return parseOne(spec, raw === undefined || raw === '' ? spec.default : raw) as Config[K];
}

/** A setting's text: its variable, or for a secret left empty, the file `<env>_FILE` names. */
function rawSetting(spec: SettingSpec, env: NodeJS.ProcessEnv): string | undefined {
  const raw = env[spec.env];
  const file = env[`${spec.env}_FILE`];
  if (!spec.secret || (raw !== undefined && raw !== '') || !file) return raw;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    // the path and the reason only: never the content
    throw new ConfigError(
      `${spec.env}_FILE names ${file}, which cannot be read (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  // one value per line is as good as commas for a list; a file's final newline is no part of a password
  return spec.kind === 'list' ? text.split(/[\r\n,]+/).join(',') : text.replace(/\r?\n$/, '');
}

/** Where `infra up` keeps the local stack's generated service passwords (TOWERFLOW_LOCAL_AUTH). */
export function localSecretFile(cfg: Pick<Config, 'homeDir'>, service: 'redis' | 'kafka'): string {
  return path.join(cfg.homeDir, 'secrets', `${service}.password`);
}

/** The ACL/SCRAM user the local stack creates when TOWERFLOW_LOCAL_AUTH=on. */
export const LOCAL_SERVICE_USER = 'towerflow';

/**
 * With TOWERFLOW_LOCAL_AUTH=on, the generated local credentials fill what the settings leave
 * empty, so every process of the checkout authenticates without passing passwords around.
 */
function withLocalCredentials(cfg: Config): Config {
  if (cfg.localAuth !== 'on') return cfg;
  const read = (service: 'redis' | 'kafka'): string | undefined => {
    try {
      return readFileSync(localSecretFile(cfg, service), 'utf8').trim();
    } catch {
      return undefined; // not generated yet: `infra up` generates it before starting the service
    }
  };
  const out = { ...cfg };
  const redis = cfg.redisPassword === '' ? read('redis') : undefined;
  if (redis !== undefined) Object.assign(out, { redisUsername: LOCAL_SERVICE_USER, redisPassword: redis });
  const kafka = cfg.kafkaSaslMechanism === 'none' ? read('kafka') : undefined;
  if (kafka !== undefined)
    Object.assign(out, {
      kafkaSaslMechanism: 'scram-sha-256',
      kafkaSaslUsername: LOCAL_SERVICE_USER,
      kafkaSaslPassword: kafka,
    });
  return out;
}

/** The configuration as it may be shown: every secret, and any password in a URL, redacted. */
export function redactedConfig(cfg: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg };
  for (const [name, spec] of Object.entries(SETTINGS as Record<string, SettingSpec>)) {
    const v = out[name];
    if (spec.secret && v !== '' && !(Array.isArray(v) && v.length === 0)) out[name] = '[redacted]';
  }
  out.redisUrl = redactUrl(cfg.redisUrl);
  return out;
}

/** A URL with the password of its user part replaced (`redis://u:[redacted]@host`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1[redacted]@');
}

/** Markdown table of all settings, for docs/configuration.md. */
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS as Record<string, SettingSpec>).map(
    (s) =>
      `| \`${s.env}\` | \`${s.default}\` | ${s.doc}${s.values ? ` ${s.kind === 'list' ? 'Any' : 'One'} of: ${s.values.join(', ')}.` : ''}${s.secret ? ` A secret: also read from the file \`${s.env}_FILE\` names; never printed.` : ''} |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
