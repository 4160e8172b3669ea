import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { GateRefusedError } from '../../../batch/job.js';
import { EmptyWindowError } from '../../../batch/window.js';
import { CommanderExit, describeFailure } from '../../../cli/failure.js';
import { ConfigError } from '../../../config/index.js';
import { InfraError } from '../../../infra/local/process.js';
import { DatasetError } from '../../../model/data/types.js';
import { ExitCode, UserFacingError } from '../../../runtime/errors.js';
import { LockBusyError } from '../../../versions/lock.js';

describe('describeFailure', () => {
  it('prints an expected failure as one line, no stack, with its exit code', () => {
    const f = describeFailure(
      new UserFacingError({
        cause: 'Redis at 127.0.0.1:6379 is not reachable',
        fix: 'run `towerflow infra up`, or set REDIS_URL',
        logPath: '/h/logs/redis.log',
        exitCode: ExitCode.UNAVAILABLE,
      }),
    );
    expect(f).toEqual({
      text: 'towerflow: Redis at 127.0.0.1:6379 is not reachable. Run `towerflow infra up`, or set REDIS_URL (log: /h/logs/redis.log)\n',
      exitCode: 3,
    });
  });

  it('gives each expected failure of the job and the inputs its documented code', () => {
    const code = (e: unknown) => describeFailure(e).exitCode;
    expect(code(new DatasetError('bad number "x"', { file: 'f.csv', line: 3, field: 'ts' }))).toBe(2);
    expect(code(new ConfigError('REDIS_URL must be a URL'))).toBe(2);
    expect(code(new InfraError('kafka: not healthy after 60 s'))).toBe(3);
    expect(code(new GateRefusedError('HR@50 0.2 below live 0.3'))).toBe(4);
    expect(code(new EmptyWindowError({ from: 0, to: 86_400_000 }))).toBe(4);
    expect(code(new LockBusyError('another run holds tf:lock:batch'))).toBe(5);
    const named = (name: string) => Object.assign(new Error('m'), { name });
    expect(['KeyError', 'HBaseError', 'MilvusError'].map((n) => code(named(n)))).toEqual([2, 3, 3]);
  });

  it('shows the lines under a message indented (a service log’s end)', () => {
    const f = describeFailure(
      new InfraError({
        service: 'hbase',
        cause: 'hbase: the process exited before becoming healthy',
        logPath: '/h/logs/hbase.log',
        detail: '| a\n| b',
      }),
    );
    expect(f.text).toBe(
      'towerflow: hbase: the process exited before becoming healthy (log: /h/logs/hbase.log)\n  | a\n  | b\n',
    );
  });

  it('leaves usage errors commander printed to it, with exit code 2 (0 for --help)', () => {
    expect(describeFailure(new CommanderExit(1))).toEqual({ text: '', exitCode: 2 });
    expect(describeFailure(new CommanderExit(0))).toEqual({ text: '', exitCode: 0 });
    // thrown by an action, so not printed yet
    expect(describeFailure(new InvalidArgumentError('unknown API x; one of ingest, recall'))).toEqual({
      text: 'towerflow: unknown API x; one of ingest, recall\n',
      exitCode: 2,
    });
  });

  it('keeps the stack of an unexpected failure and says how to report it', () => {
    const e = new TypeError('cannot read x of undefined');
    const f = describeFailure(e);
    expect(f.exitCode).toBe(ExitCode.UNEXPECTED);
    expect(f.text.startsWith(`${e.stack}\n`)).toBe(true);
    expect(f.text).toMatch(/towerflow: unexpected failure .*report it/);
  });
});
