import { type Logger, pino } from 'pino';
import type { Config } from '../config/index.js';

export type { Logger } from 'pino';

/**
 * Fields that may hold a credential if an object is ever logged whole: a configuration's
 * secrets, and the arguments of a failed Redis command (ioredis attaches them to its errors,
 * and for AUTH they are the password).
 */
export const REDACTED_LOG_PATHS = [
  'password',
  '*.password',
  '*.redisPassword',
  '*.kafkaSaslPassword',
  '*.milvusToken',
  '*.ingestApiKeys',
  '*.recallApiKeys',
  '*.recallOperatorKeys',
  '*.command.args',
  '*.sasl',
];

/** JSON logs on stdout (a daemon's stdout is its log file), one logger per process role. */
export function createLogger(cfg: Pick<Config, 'logLevel'>, role: string): Logger {
  return pino({ level: cfg.logLevel, base: { role, pid: process.pid }, redact: REDACTED_LOG_PATHS });
}
