/** The last recall answer a user got, as the online hit rate needs it. */
export interface RecordedAnswer {
  /** When the answer was given (its prediction time, Unix ms). */
  ts: number;
  /** The model version that answered ('' for none). */
  version: string;
  /** personal, profile or popular. */
  source: string;
  /** The answer's top items as seen hashes (stores/seen/keys.ts), best first. */
  items: number[];
}

/** Each user's last recall answer, kept for the attribution window (ONLINE_WINDOW_SECONDS). */
export interface AnswerStore {
  /** Keeps the answer as the user's last one (the first `ONLINE_ANSWER_ITEMS` items). */
  record(
    userId: string,
    answer: { ts: number; version: string; source: string; itemIds: string[] },
  ): Promise<void>;
  /** The users' last answers still within the window (absent: none). */
  lastOf(userIds: readonly string[]): Promise<Map<string, RecordedAnswer>>;
}
