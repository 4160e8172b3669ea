import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../../config/index.js';
import { makeContext, status } from '../../infra/local/stack.js';
import { ExitCode, UserFacingError } from '../../runtime/errors.js';

/** Benchmarks are standalone scripts in bench/ (compiled to dist/bench/); this runs one of them. */
const BENCH_DIR = path.join(projectRoot(), 'dist', 'bench');

/** Benchmarks that start nothing and need no service. */
const STANDALONE = new Set(['train']);

/** Locally provisioned services that are not up (none when the services are external). */
async function servicesDown(): Promise<string[]> {
  const rows = await status(makeContext(() => {}));
  return rows.filter((r) => !r.up).map((r) => r.name);
}

/** Listed when `bench` runs, not at every CLI start. */
function benchNames(): string[] {
  return existsSync(BENCH_DIR)
    ? readdirSync(BENCH_DIR)
        .filter((f) => f.endsWith('.js') && f !== 'lib.js')
        .map((f) => f.slice(0, -3))
    : [];
}

export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'run one benchmark (`towerflow bench NAME --help` for its options); all but train run on the local real services',
    )
    .argument('<name>', 'benchmark name')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument('[args...]', 'passed to the benchmark, e.g. --json')
    .action(async (name: string, args: string[]) => {
      const names = benchNames();
      if (!names.includes(name)) {
        throw new UserFacingError({
          cause: `unknown benchmark "${name}"`,
          fix: `name one of ${names.join(', ')}`,
          exitCode: ExitCode.USAGE,
        });
      }
      const help = args.includes('--help') || args.includes('-h');
      if (!STANDALONE.has(name) && !help) {
        const down = await servicesDown();
        if (down.length > 0) {
          throw new UserFacingError({
            cause: `bench ${name} runs on the local services; not up: ${down.join(', ')}`,
            fix: 'start them with `towerflow infra up` (or point the configuration at external ones)',
            exitCode: ExitCode.UNAVAILABLE,
          });
        }
      }
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [path.join(BENCH_DIR, `${name}.js`), ...args], {
          stdio: 'inherit',
        });
        child.on('close', (c) => resolve(c ?? 1));
      });
      process.exitCode = code;
    });
}
