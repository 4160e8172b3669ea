import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../../../cli/failure.js';
import { InfraError, tailFile } from '../../../../infra/local/process.js';
import { startFailure } from '../../../../infra/local/stack.js';

describe('infra up failures', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-stack-'));
  const log = path.join(dir, 'hbase.log');
  // a JVM that dies prints pages; only the end is shown
  writeFileSync(log, `${Array.from({ length: 500 }, (_, i) => `\tat frame ${i}`).join('\n')}\n`);

  it('shows at most the last 10 lines of a service’s log', () => {
    const tail = tailFile(log).split('\n');
    expect(tail).toHaveLength(10);
    expect(tail[0]).toBe('| \tat frame 490');
    expect(tail.at(-1)).toBe('| \tat frame 499');
    expect(tailFile(path.join(dir, 'none.log'))).toBe('| (no log file)');
  });

  it('one failed service: its line (cause, log path) and its log end', () => {
    const one = new InfraError({
      service: 'hbase',
      cause: 'hbase: the process exited before becoming healthy',
      fix: 'the end of its log says why',
      logPath: log,
      detail: tailFile(log),
    });
    expect(startFailure([one])).toBe(one);
    const lines = describeFailure(one).text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `towerflow: hbase: the process exited before becoming healthy. The end of its log says why (log: ${log})`,
    );
    expect(lines).toHaveLength(11);
  });

  it('several: a line naming them, then each one’s line and log end', () => {
    const failed = (name: string) =>
      new InfraError({
        service: name,
        cause: `${name}: not healthy after 60 s`,
        logPath: `/h/logs/${name}.log`,
        detail: '| last line',
      });
    const f = describeFailure(startFailure([failed('kafka'), failed('milvus')]));
    expect(f.exitCode).toBe(3);
    expect(f.text.split('\n')).toEqual([
      'towerflow: 2 services did not start (kafka, milvus). Each one’s cause and the end of its log follow; fix them and run `towerflow infra up` again',
      '  kafka: not healthy after 60 s (log: /h/logs/kafka.log)',
      '    | last line',
      '  milvus: not healthy after 60 s (log: /h/logs/milvus.log)',
      '    | last line',
      '',
    ]);
  });
});
