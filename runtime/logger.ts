import { type Logger, pino } from 'pino';
import type { Config } from '../config/index.js';

export type { Logger } from 'pino';

/** JSON logs on stdout (a daemon's stdout is its log file), one logger per process role. */
export function createLogger(cfg: Pick<Config, 'logLevel'>, role: string): Logger {
  return pino({ level: cfg.logLevel, base: { role, pid: process.pid } });
}
