import { down, makeContext, status, up } from '../../infra/local/stack.js';

// Starts the local real services unless they are already up (a developer's running stack is
// reused and left running); stops only what this run started.
export default async function setup(): Promise<() => Promise<void>> {
  const ctx = makeContext((m) => process.stderr.write(`[infra] ${m}\n`));
  const before = await status(ctx);
  const toStart = before.filter((s) => !s.up).map((s) => s.name);
  if (toStart.length > 0) await up(ctx, toStart);
  return async () => {
    if (toStart.length > 0 && process.env.TOWERFLOW_KEEP_SERVICES !== '1') await down(ctx, toStart);
  };
}
