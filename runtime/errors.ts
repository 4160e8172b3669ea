import type { ExitCode } from './exit-codes.js';

export { ExitCode } from './exit-codes.js';

export interface UserFacingErrorInit {
  /** What went wrong, in the user's terms (no trailing period). */
  cause: string;
  /** What to do about it: the command or setting that fixes it. */
  fix?: string;
  /** The log that holds the details. */
  logPath?: string;
  /** A few lines printed under the message (e.g. the last lines of a service's log). */
  detail?: string;
  exitCode: ExitCode;
}

/**
 * An expected failure whose cause is known: the CLI prints it as one line
 * `towerflow: <cause>. <fix> (log: <path>)`, without a stack, and exits with `exitCode`.
 * Thrown where the cause is known; anything else is unexpected and keeps its stack.
 */
export class UserFacingError extends Error {
  override name = 'UserFacingError';
  override readonly cause: string;
  readonly fix: string | undefined;
  readonly logPath: string | undefined;
  readonly detail: string | undefined;
  readonly exitCode: ExitCode;

  constructor(init: UserFacingErrorInit) {
    super(oneLine(init));
    this.cause = init.cause;
    this.fix = init.fix;
    this.logPath = init.logPath;
    this.detail = init.detail;
    this.exitCode = init.exitCode;
  }
}

/** `<cause>. <fix> (log: <path>)`, the parts that are given. */
export function oneLine(e: Pick<UserFacingErrorInit, 'cause' | 'fix' | 'logPath'>): string {
  let line = e.cause.replace(/\.$/, '');
  if (e.fix) line += `. ${e.fix.charAt(0).toUpperCase()}${e.fix.slice(1)}`;
  if (e.logPath) line += ` (log: ${e.logPath})`;
  return line;
}

/** The last `n` non-empty lines of a log, each cut to `width` characters (Java lines run long). */
export function lastLines(text: string, n = 10, width = 240): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
}

/** `lastLines` as a block to show under a message, each line marked `| ` as quoted output. */
export function quoteTail(text: string, n = 10): string {
  return lastLines(text, n)
    .map((l) => `| ${l}`)
    .join('\n');
}
