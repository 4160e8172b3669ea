import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../../config/index.js';

/** Benchmarks are standalone scripts in bench/ (compiled to dist/bench/); this runs one of them. */
export function benchCommand(): Command {
  const dir = path.join(projectRoot(), 'dist', 'bench');
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.js') && f !== 'lib.js')
        .map((f) => f.slice(0, -3))
    : [];
  return new Command('bench')
    .description(`run one benchmark on the local real services (${names.join(', ') || 'none built'})`)
    .argument('<name>', 'benchmark name')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument('[args...]', 'passed to the benchmark, e.g. --json')
    .action(async (name: string, args: string[]) => {
      if (!names.includes(name)) {
        process.stderr.write(`towerflow bench: unknown benchmark "${name}"; known: ${names.join(', ')}\n`);
        process.exit(2);
      }
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [path.join(dir, `${name}.js`), ...args], { stdio: 'inherit' });
        child.on('close', (c) => resolve(c ?? 1));
      });
      process.exitCode = code;
    });
}
