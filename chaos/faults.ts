import type { IsolatedStack } from '../infra/local/isolated-stack.js';
import { daemonState, isAlive } from '../infra/local/process.js';
import { pidFileOf, type ServiceContext } from '../infra/local/service.js';
import { up } from '../infra/local/stack.js';

// What a drill can kill, and how it comes back: as an operator would, `kill -9` of the one
// server process, then `towerflow infra up NAME` / `apps up NAME` (which must find the dead server
// and clear what it left). The daily job is its own drill (drill.ts): its "restart" is the next run.

export const SERVICE_FAULTS = ['kafka', 'hbase', 'redis', 'milvus'] as const;
export const APP_FAULTS = [
  'ingest',
  'serve',
  'stream-history',
  'stream-sequence',
  'stream-items',
  'stream-embeddings',
] as const;
export const FAULTS = [...SERVICE_FAULTS, ...APP_FAULTS, 'daily-job'] as const;
export type FaultName = (typeof FAULTS)[number];

/** One of each kind, cheap to bring back: what the test suite runs (the full list runs from the command). */
export const REPRESENTATIVE_FAULTS: readonly FaultName[] = [
  'redis',
  'stream-sequence',
  'stream-embeddings',
  'ingest',
];

export function isFault(name: string): name is FaultName {
  return (FAULTS as readonly string[]).includes(name);
}

export interface Fault {
  name: FaultName;
  /** `kill -9` of the server process; resolves once it is gone. */
  kill(): Promise<void>;
  /** Brings it back the way an operator would; resolves when it is healthy. */
  restart(): Promise<void>;
}

async function gone(pid: number, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (isAlive(pid)) {
    if (Date.now() > end) throw new Error(`${what} (pid ${pid}) still alive 10 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A shared service of the local stack: its server pid from its pid file. */
export function serviceFault(ctx: ServiceContext, name: (typeof SERVICE_FAULTS)[number]): Fault {
  return {
    name,
    async kill() {
      const s = daemonState(pidFileOf(ctx, name));
      if (s.state !== 'running')
        throw new Error(`${name} is not running (${s.state}): start it with \`towerflow infra up\``);
      process.kill(s.pid, 'SIGKILL');
      await gone(s.pid, name);
    },
    async restart() {
      await up(ctx, [name]);
    },
  };
}

/** One of the drill stack's own processes. */
export function appFault(stack: IsolatedStack, name: (typeof APP_FAULTS)[number]): Fault {
  return {
    name,
    kill: () => stack.kill9(name),
    restart: () => stack.up([name]),
  };
}

/** What kills and brings back a named fault; undefined for the daily job (its drill is its own). */
export function faultOf(name: FaultName, ctx: ServiceContext, stack: IsolatedStack): Fault | undefined {
  if (name === 'daily-job') return undefined;
  if ((SERVICE_FAULTS as readonly string[]).includes(name))
    return serviceFault(ctx, name as (typeof SERVICE_FAULTS)[number]);
  return appFault(stack, name as (typeof APP_FAULTS)[number]);
}
