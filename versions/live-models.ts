import type { Redis } from '../clients/redis.js';
import type { Config } from '../config/index.js';
import { ModelVersion } from '../model/version.js';
import { type LivePointer, ModelRegistry } from './registry.js';

/** A live pointer with the towers of exactly that version. */
export interface Live {
  pointer: LivePointer;
  model: ModelVersion;
}

/** A version a request is served by (the live one, or an experiment arm's) with its towers. */
export interface Served {
  version: string;
  model: ModelVersion;
}

/**
 * The model versions a serving process holds. Each request reads the live pointer once and
 * uses the towers of that version with that version's collection, so a publish in the middle of
 * a request can never pair one version's user tower with another's item vectors. Versions load
 * on first use (concurrent requests share the load) and the two most recent stay in memory.
 */
export class LiveModels {
  private readonly registry: ModelRegistry;
  private readonly loaded = new Map<string, Promise<ModelVersion>>();
  private lastPointer: LivePointer | undefined;
  /** Versions a running experiment serves: never evicted while held. */
  private held = new Set<string>();

  constructor(
    cfg: Config,
    redis: Redis,
    private readonly load: { cpuUserTower?: boolean } = {},
  ) {
    this.registry = new ModelRegistry(cfg, redis);
  }

  /** The live version, or undefined before the first publish. */
  async current(): Promise<Live | undefined> {
    let pointer: LivePointer | undefined;
    try {
      pointer = await this.registry.live();
      this.lastPointer = pointer;
    } catch (e) {
      // Redis unreachable: the version this process last saw, else the registry file's mirror
      pointer = this.lastPointer ?? (await this.registry.state().catch(() => ({ live: undefined }))).live;
      if (!pointer) throw e;
    }
    if (!pointer) return undefined;
    return { pointer, model: await this.model(pointer.version) };
  }

  /** The version of the live pointer last read (undefined before the first read). */
  get lastVersion(): string | undefined {
    return this.lastPointer?.version;
  }

  /** Loads ahead (on a publish message) so the first request of a new version does not pay for it. */
  preload(version: string): void {
    Promise.resolve()
      .then(() => this.model(version))
      .catch(() => {});
  }

  /**
   * Keeps these versions loaded (a running experiment's control and candidate) besides the two
   * most recent; the versions held before are evicted like any other from now on.
   */
  hold(versions: Iterable<string>): void {
    this.held = new Set(versions);
  }

  /** The towers of a named version (an experiment arm's), loaded on first use like the live one's. */
  served(version: string): Promise<Served> {
    return this.model(version).then((model) => ({ version, model }));
  }

  private model(version: string): Promise<ModelVersion> {
    let p = this.loaded.get(version);
    if (!p) {
      p = ModelVersion.load(this.registry.versionDir(version), this.load);
      p.catch(() => this.loaded.delete(version));
      this.loaded.set(version, p);
      // keep the newest two (the live one and the one requests in flight may still hold) and
      // the held ones
      for (;;) {
        const loose = [...this.loaded.keys()].filter((v) => !this.held.has(v));
        if (loose.length <= 2) break;
        const oldest = loose[0] as string;
        const old = this.loaded.get(oldest);
        this.loaded.delete(oldest);
        // disposed a little later: a request that read the old pointer may still be using it
        setTimeout(() => old?.then((m) => m.dispose()).catch(() => {}), 30_000).unref();
      }
    }
    return p;
  }

  dispose(): void {
    for (const p of this.loaded.values()) p.then((m) => m.dispose()).catch(() => {});
    this.loaded.clear();
  }
}
