import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { redisKey } from '../../clients/keys.js';
import type { Redis } from '../../clients/redis.js';
import { announceExperiment } from '../channel.js';
import { type ExperimentDefinition, ExperimentError, type ExperimentState } from './definition.js';

/** The running experiment of an alias (what every recall API instance reads per request). */
export const runningKey = (alias: string): string => redisKey('exp', 'run', alias);
/** Every experiment ever started, running or ended, by name (reports read ended ones too). */
export const definitionKey = (name: string): string => redisKey('exp', 'def', name);

// start: refused when the alias has a running experiment or the name was used; both keys set
// in one script, so two concurrent starts cannot both succeed
const START = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'running', redis.call('GET', KEYS[1])} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'taken', redis.call('GET', KEYS[2])} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
return {'ok', ARGV[1]}`;

// end: the definition becomes ended and the alias's running pointer goes, once; a second call
// (or a concurrent one) finds it ended and returns it unchanged
const END = `
local cur = redis.call('GET', KEYS[2])
if not cur then return {'missing', ''} end
local def = cjson.decode(cur)
if def.state ~= 'running' then return {'ended', cur} end
def.state = ARGV[1]
def.endedAt = ARGV[2]
local out = cjson.encode(def)
redis.call('SET', KEYS[2], out)
local run = redis.call('GET', KEYS[1])
if run and cjson.decode(run).name == def.name then redis.call('DEL', KEYS[1]) end
return {'ok', out}`;

export interface EndResult {
  definition: ExperimentDefinition;
  /** false when the experiment had ended already (the call changed nothing). */
  changed: boolean;
}

/**
 * Experiment definitions in Redis, mirrored into `experiments.json` beside the model registry
 * (so a Redis flush does not forget which versions an experiment holds).
 */
export class ExperimentRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly dir: string,
  ) {}

  /** The alias's running experiment, or undefined. */
  async running(alias: string): Promise<ExperimentDefinition | undefined> {
    const raw = await this.redis.get(runningKey(alias));
    return raw ? (JSON.parse(raw) as ExperimentDefinition) : undefined;
  }

  async get(name: string): Promise<ExperimentDefinition | undefined> {
    const raw = await this.redis.get(definitionKey(name));
    if (raw) return JSON.parse(raw) as ExperimentDefinition;
    return (await this.mirror()).find((d) => d.name === name);
  }

  async start(def: ExperimentDefinition): Promise<ExperimentDefinition> {
    const [outcome, raw] = (await this.redis.eval(
      START,
      2,
      runningKey(def.alias),
      definitionKey(def.name),
      JSON.stringify(def),
    )) as [string, string];
    if (outcome === 'running')
      throw new ExperimentError(
        `experiment ${(JSON.parse(raw) as ExperimentDefinition).name} is already running on ${def.alias}: promote or abort it first`,
      );
    if (outcome === 'taken')
      throw new ExperimentError(`an experiment named ${def.name} exists already: choose another --name`);
    await this.writeMirror(def);
    await this.announce('started', def);
    return def;
  }

  /** Ends a running experiment as promoted or aborted; idempotent. */
  async end(name: string, state: Exclude<ExperimentState, 'running'>, now = new Date()): Promise<EndResult> {
    const known = await this.get(name);
    if (!known)
      throw new ExperimentError(`no experiment named ${name}: \`towerflow experiment status\` lists them`);
    const [outcome, raw] = (await this.redis.eval(
      END,
      2,
      runningKey(known.alias),
      definitionKey(name),
      state,
      now.toISOString(),
    )) as [string, string];
    if (outcome === 'missing') {
      // known only from the mirror (Redis was flushed): it cannot be running any more
      return { definition: known, changed: false };
    }
    const definition = JSON.parse(raw) as ExperimentDefinition;
    if (outcome === 'ok') {
      await this.writeMirror(definition);
      await this.announce('ended', definition);
    }
    return { definition, changed: outcome === 'ok' };
  }

  /** Every experiment the mirror knows, newest first. */
  async list(): Promise<ExperimentDefinition[]> {
    return (await this.mirror()).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** Versions a running experiment serves: the daily job must not retire them. */
  async heldVersions(): Promise<Set<string>> {
    const held = new Set<string>();
    for (const d of await this.mirror()) if (d.state === 'running') held.add(d.candidate).add(d.control);
    return held;
  }

  /**
   * Wakes the readers (recall API instances, embeddings processor) so the change takes effect in
   * milliseconds; a lost message costs at most their poll interval (EXPERIMENT_REFRESH_MS).
   */
  private announce(event: 'started' | 'ended', def: ExperimentDefinition): Promise<void> {
    return announceExperiment(this.redis, event, def.name, def.alias).then(
      () => {},
      () => {},
    );
  }

  private get file(): string {
    return path.join(this.dir, 'experiments.json');
  }

  private async mirror(): Promise<ExperimentDefinition[]> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as ExperimentDefinition[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  private async writeMirror(def: ExperimentDefinition): Promise<void> {
    const all = (await this.mirror()).filter((d) => d.name !== def.name);
    all.push(def);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, JSON.stringify(all, null, 2));
    await rename(tmp, this.file);
  }
}
