import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from '../clients/redis.js';
import type { Config } from '../config/index.js';

/**
 * What readers need to serve a version: its folder (towers, vocabularies) and its Milvus collection
 * (named by stores/vectors/collections.ts; readers address the vector store by `version`).
 */
export interface LivePointer {
  version: string;
  collection: string;
  dim: number;
  publishedAt: string;
}

/** The registry's record: the live pointer and the versions published before it, newest first. */
export interface RegistryState {
  live?: LivePointer;
  previous: LivePointer[];
}

export const LIVE_REDIS_KEY = 'tf:model:live';
const VERSION_PATTERN = /^v\d{8}-\d{6}(-\d+)?$/;

export function registryDir(cfg: Pick<Config, 'modelRegistryDir' | 'homeDir'>): string {
  return cfg.modelRegistryDir
    ? path.resolve(cfg.homeDir, cfg.modelRegistryDir)
    : path.join(cfg.homeDir, 'models');
}

/** `v20240131-030000`: sortable, unique per second (a suffix is added on a clash). */
export function newVersionName(now: Date, taken: (name: string) => boolean): string {
  const iso = now.toISOString();
  const base = `v${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  let name = base;
  for (let i = 2; taken(name); i++) name = `${base}-${i}`;
  return name;
}

/**
 * Model versions on a filesystem (one folder each) and the live pointer. The pointer is written
 * to Redis with one SET — the single step readers observe — and mirrored into `registry.json`
 * (atomic rename) so that the registry survives a Redis flush.
 */
/** The file that marks a version folder as a kept candidate. */
const CANDIDATE_MARK = 'candidate';

export class ModelRegistry {
  readonly dir: string;

  constructor(
    cfg: Pick<Config, 'modelRegistryDir' | 'homeDir'>,
    private readonly redis: Redis,
  ) {
    this.dir = registryDir(cfg);
  }

  versionDir(version: string): string {
    if (!VERSION_PATTERN.test(version)) throw new Error(`not a version name: ${JSON.stringify(version)}`);
    return path.join(this.dir, version);
  }

  async newVersion(now = new Date()): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    return newVersionName(now, (n) => existsSync(path.join(this.dir, n)));
  }

  async state(): Promise<RegistryState> {
    try {
      return JSON.parse(await readFile(path.join(this.dir, 'registry.json'), 'utf8')) as RegistryState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { previous: [] };
      throw e;
    }
  }

  /** The pointer readers use; Redis first (what serving reads), the file when Redis has none. */
  async live(): Promise<LivePointer | undefined> {
    const raw = await this.redis.get(LIVE_REDIS_KEY);
    if (raw) return JSON.parse(raw) as LivePointer;
    return (await this.state()).live;
  }

  /**
   * Makes `next` live in one Redis SET (the commit point), then records the previous pointer
   * for rollback; a failure of that record is passed to `onMirrorError`, not thrown, because
   * the version is live already.
   */
  async publish(next: LivePointer, onMirrorError: (e: Error) => void = () => {}): Promise<RegistryState> {
    const st = await this.state();
    await this.redis.set(LIVE_REDIS_KEY, JSON.stringify(next));
    const previous = st.live && st.live.version !== next.version ? [st.live, ...st.previous] : st.previous;
    const out: RegistryState = { live: next, previous: previous.filter((p) => p.version !== next.version) };
    await this.writeState(out).catch(onMirrorError);
    return out;
  }

  /** Whether `name` is a version name (the only names turned into paths). */
  static isVersionName(name: string): boolean {
    return VERSION_PATTERN.test(name);
  }

  /** Makes the previous version live again; returns it (undefined when there is none). */
  async rollback(): Promise<LivePointer | undefined> {
    const st = await this.state();
    const [back, ...rest] = st.previous;
    if (!back) return undefined;
    const pointer = { ...back, publishedAt: new Date().toISOString() };
    await this.redis.set(LIVE_REDIS_KEY, JSON.stringify(pointer));
    await this.writeState({ live: pointer, previous: rest });
    return pointer;
  }

  /** Keeps the live version and `keep − 1` previous ones; returns the pointers dropped from the record. */
  async trim(keep: number): Promise<LivePointer[]> {
    const st = await this.state();
    const dropped = st.previous.slice(Math.max(0, keep - 1));
    if (dropped.length === 0) return [];
    await this.writeState({ ...st, previous: st.previous.slice(0, Math.max(0, keep - 1)) });
    return dropped;
  }

  /**
   * Version folders that no pointer references (failed or trimmed runs), except the newest
   * `keepCandidates` built as candidates (markCandidate): those wait for an experiment.
   */
  async orphans(keepCandidates = 0): Promise<string[]> {
    const st = await this.state();
    const kept = new Set([st.live, ...st.previous].filter(Boolean).map((p) => (p as LivePointer).version));
    const names = existsSync(this.dir) ? await readdir(this.dir) : [];
    const unreferenced = names.filter((n) => VERSION_PATTERN.test(n) && !kept.has(n));
    // version names sort by time: the newest candidates last
    const candidates = unreferenced
      .filter((n) => existsSync(path.join(this.versionDir(n), CANDIDATE_MARK)))
      .sort();
    const waiting = new Set(keepCandidates > 0 ? candidates.slice(-keepCandidates) : []);
    return unreferenced.filter((n) => !waiting.has(n));
  }

  /** Marks a version built but not published (`batch run --no-publish`, or held by an experiment). */
  async markCandidate(version: string): Promise<void> {
    await writeFile(path.join(this.versionDir(version), CANDIDATE_MARK), `${new Date().toISOString()}\n`);
  }

  async removeVersionDir(version: string): Promise<void> {
    await rm(this.versionDir(version), { recursive: true, force: true });
  }

  private async writeState(st: RegistryState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, 'registry.json');
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(st, null, 2));
    await rename(tmp, file);
  }
}
