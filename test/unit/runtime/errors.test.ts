import { describe, expect, it } from 'vitest';
import { ExitCode, lastLines, oneLine, quoteTail, UserFacingError } from '../../../runtime/errors.js';

describe('UserFacingError', () => {
  it('reads as one line: cause, fix, log', () => {
    const e = new UserFacingError({
      cause: 'Kafka at 127.0.0.1:9092 is not reachable',
      fix: 'run `towerflow infra up`, or set KAFKA_BROKERS',
      logPath: '/h/logs/kafka.log',
      exitCode: ExitCode.UNAVAILABLE,
    });
    expect(e.message).toBe(
      'Kafka at 127.0.0.1:9092 is not reachable. Run `towerflow infra up`, or set KAFKA_BROKERS (log: /h/logs/kafka.log)',
    );
    expect([e.cause, e.fix, e.logPath, e.exitCode]).toEqual([
      'Kafka at 127.0.0.1:9092 is not reachable',
      'run `towerflow infra up`, or set KAFKA_BROKERS',
      '/h/logs/kafka.log',
      3,
    ]);
  });

  it('leaves out the parts not given, and a period the cause already ends with', () => {
    expect(oneLine({ cause: 'no previous version.' })).toBe('no previous version');
    expect(oneLine({ cause: 'x', logPath: '/l' })).toBe('x (log: /l)');
  });
});

describe('log tails', () => {
  it('keeps the last non-empty lines, each cut to a width', () => {
    const text = `${Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n')}\n\n`;
    expect(lastLines(text, 3)).toEqual(['line 27', 'line 28', 'line 29']);
    expect(lastLines(`${'x'.repeat(500)}\n`, 10, 10)).toEqual(['xxxxxxxxx…']);
    expect(quoteTail('a\nb\n', 10)).toBe('| a\n| b');
  });
});
