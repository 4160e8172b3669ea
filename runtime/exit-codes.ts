/**
 * The CLI's exit codes, one meaning each, so a script can tell "fix your command" from "start the
 * services" from "the job declined" (documented in docs/cli.md).
 */
export const ExitCode = {
  /** Done. */
  OK: 0,
  /** An unexpected failure (a bug, or a cause the code does not know): the stack is printed. */
  UNEXPECTED: 1,
  /** Bad command line, bad input file or bad setting: the message names it. */
  USAGE: 2,
  /** A service is down or not reachable, or `infra up` could not start one. */
  UNAVAILABLE: 3,
  /** The batch job declined: gate refused, training diverged, empty window, nothing to roll back to. */
  REFUSED: 4,
  /** Another batch run holds the lock. */
  BUSY: 5,
  /** A verification ran and found problems (`dashboards verify`). */
  CHECK_FAILED: 6,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
