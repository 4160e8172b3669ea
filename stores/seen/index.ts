/** One behaviour as the seen set needs it. */
export interface SeenEvent {
  user_id: string;
  item_id: string;
  type: string;
}

/**
 * Every item each user has interacted with (the recall API leaves them out of its answers), as
 * 32-bit hashes (hash.ts). Adding is idempotent, so a re-delivered batch changes nothing.
 */
export interface SeenStore {
  /** Adds each event's item to its user's set, except events of the ignored types. */
  add(events: readonly SeenEvent[]): Promise<void>;
  /** The user's seen items as hashes (empty for an unknown user). */
  get(userId: string): Promise<Set<number>>;
  /** Replaces one user's set with exactly these events' items (rebuild from the history). */
  replace(userId: string, events: readonly SeenEvent[]): Promise<void>;
}

export interface SeenSettings {
  /** Event types that do not make an item "seen" (impressions, for instance). */
  ignoredTypes: ReadonlySet<string>;
  /** Seconds a user's set lives after its last change (0: forever). */
  ttlSeconds: number;
}

/** The settings from the configuration (`none` in SEEN_IGNORED_TYPES: every type counts). */
export function seenSettings(cfg: { seenIgnoredTypes: string[]; seenTtlSeconds: number }): SeenSettings {
  return {
    ignoredTypes: new Set(cfg.seenIgnoredTypes.filter((t) => t !== 'none')),
    ttlSeconds: cfg.seenTtlSeconds,
  };
}
