import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Dataset } from '../model/data/types.js';

// The daily job as its own process, the way cron or `batch schedule` runs it: a drill kills it
// with `kill -9` and runs it again.

export interface JobWindow {
  /** Last day of the window (YYYY-MM-DD). */
  date: string;
  windowDays: number;
  epochs: number;
}

/** The training window that holds every event of the dataset. */
export function jobWindow(ds: Dataset, epochs: number): JobWindow {
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const x of ds.interactions) {
    lo = Math.min(lo, x.ts * 1000);
    hi = Math.max(hi, x.ts * 1000);
  }
  return {
    date: new Date(hi).toISOString().slice(0, 10),
    windowDays: Math.ceil((hi - lo) / 86_400_000) + 2,
    epochs,
  };
}

export interface RunningJob {
  child: ChildProcess;
  /** Resolves with the published version (exit 0), rejects otherwise. */
  done: Promise<string>;
  /** Resolves when a stderr line matches. */
  saw(pattern: RegExp): Promise<void>;
}

export function startDailyJob(cfg: Config, env: NodeJS.ProcessEnv, w: JobWindow): RunningJob {
  const bin = path.join(cfg.root, 'bin', 'towerflow.js');
  const args = [bin, 'batch', 'run', '--date', w.date, '--window-days', String(w.windowDays)];
  args.push('--epochs', String(w.epochs), '--force', '--json');
  // its own process group: the kill -9 of a drill ends it and anything it started
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
    for (const w of [...waiters])
      if (w.pattern.test(err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) {
        try {
          resolve((JSON.parse(out) as { version: string }).version);
        } catch {
          reject(new Error(`batch run printed no report: ${out.slice(0, 200)}`));
        }
      } else
        reject(
          new Error(
            `batch run ended with ${signal ?? `exit ${code}`}: ${err.split('\n').slice(-5).join(' | ')}`,
          ),
        );
    });
  });
  return {
    child,
    done,
    saw: (pattern) =>
      new Promise<void>((resolve) => {
        if (pattern.test(err)) resolve();
        else waiters.push({ pattern, resolve });
      }),
  };
}
