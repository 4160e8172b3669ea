import { CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { ExitCode, oneLine, UserFacingError } from '../runtime/errors.js';

/** Thrown instead of exiting once commander has printed a usage error or the help. */
export class CommanderExit extends Error {
  override name = 'CommanderExit';
  constructor(readonly exitCode: number) {
    super(`commander exit ${exitCode}`);
  }
}

/** What the CLI prints on stderr for a failure, and the code it exits with. */
export interface Failure {
  text: string;
  exitCode: number;
}

// Errors of lower rooms whose message already names the cause (each class is thrown only with
// one), printed as one line; matched by name so this module loads none of their clients.
const KNOWN_BY_NAME: Record<string, { exitCode: ExitCode; fix?: string }> = {
  KeyError: { exitCode: ExitCode.USAGE },
  HBaseError: { exitCode: ExitCode.UNAVAILABLE },
  MilvusError: { exitCode: ExitCode.UNAVAILABLE },
  KafkaUnavailableError: { exitCode: ExitCode.UNAVAILABLE },
};

const REPORT =
  'towerflow: unexpected failure (the stack is above). If it is not a setup problem, please report it with the command you ran and this output.\n';

/**
 * Maps anything the CLI threw to its output and exit code: an expected failure (its cause known)
 * to one line without a stack; commander's usage errors (already printed) to exit code 2;
 * anything else to its stack and how to report it, exit code 1.
 */
export function describeFailure(e: unknown): Failure {
  if (e instanceof CommanderExit)
    return { text: '', exitCode: e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE };
  if (e instanceof UserFacingError) {
    const detail = e.detail ? `${e.detail.replace(/^/gm, '  ')}\n` : '';
    return { text: `towerflow: ${e.message}\n${detail}`, exitCode: e.exitCode };
  }
  if (e instanceof ConfigError)
    return {
      text: `towerflow: ${oneLine({ cause: e.message, fix: 'set it in the environment (`towerflow config --markdown` lists every setting)' })}\n`,
      exitCode: ExitCode.USAGE,
    };
  if (e instanceof CommanderError) {
    // a commander error thrown by an action (not printed by commander): the option's message
    return { text: `towerflow: ${e.message.replace(/^error: /, '')}\n`, exitCode: ExitCode.USAGE };
  }
  const known = e instanceof Error ? KNOWN_BY_NAME[e.name] : undefined;
  if (e instanceof Error && known)
    return {
      text: `towerflow: ${oneLine({ cause: e.message, fix: known.fix })}\n`,
      exitCode: known.exitCode,
    };
  const stack = e instanceof Error ? (e.stack ?? String(e)) : String(e);
  return { text: `${stack}\n${REPORT}`, exitCode: ExitCode.UNEXPECTED };
}
