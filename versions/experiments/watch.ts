import { ModelRegistry } from '../registry.js';
import type { ExperimentDefinition } from './definition.js';

/**
 * Whether a definition read from Redis can be served: its versions become folder paths and
 * Milvus collection names, its share a threshold, so anything else is treated as no experiment.
 */
export function servable(d: ExperimentDefinition | undefined): d is ExperimentDefinition {
  return (
    d !== undefined &&
    d.state === 'running' &&
    (d.mode === 'ab' || d.mode === 'shadow') &&
    typeof d.share === 'number' &&
    d.share > 0 &&
    d.share < 1 &&
    typeof d.name === 'string' &&
    ModelRegistry.isVersionName(d.control) &&
    ModelRegistry.isVersionName(d.candidate)
  );
}

/**
 * The running experiment of an alias held in memory, so a request reads it for free: re-read
 * every `refreshMs` and whenever `refresh()` is called (an experiment event on the channel).
 * A start, promote or abort therefore takes effect on every reader within milliseconds of its
 * announcement, and within `refreshMs` plus one Redis read if the message is lost. While Redis
 * does not answer the last value read stays (the experiment neither starts nor ends then).
 */
export class ExperimentWatch {
  private value: ExperimentDefinition | undefined;
  private pending: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Promise<ExperimentDefinition | undefined>,
    private readonly refreshMs: number,
    private readonly hooks: {
      /** A different experiment (or none) is now current. */
      onChange?: (d: ExperimentDefinition | undefined) => void;
      onError?: (e: unknown) => void;
    } = {},
  ) {}

  /** The running experiment as last read (undefined: none). */
  get current(): ExperimentDefinition | undefined {
    return this.value;
  }

  /** Reads once, then keeps reading every `refreshMs` until stop(). */
  async start(): Promise<void> {
    await this.refresh();
    if (this.refreshMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.refreshMs);
      this.timer.unref();
    }
  }

  /**
   * Re-reads now. A call while a read is in flight makes one more read after it (that read may
   * have started before the change it is called for), and resolves after that one.
   */
  refresh(): Promise<void> {
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    this.pending = (async () => {
      do {
        this.again = false;
        try {
          const next = await this.read();
          this.set(servable(next) ? next : undefined);
        } catch (e) {
          this.hooks.onError?.(e);
        }
      } while (this.again);
    })().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private set(next: ExperimentDefinition | undefined): void {
    const before = this.value;
    this.value = next;
    if (JSON.stringify(before) !== JSON.stringify(next)) this.hooks.onChange?.(next);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
