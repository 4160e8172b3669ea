#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript (npm run build, done by scripts/bootstrap.sh).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    'towerflow is not built yet: run `bash scripts/bootstrap.sh` (or `npm run build`) first.\n',
  );
  process.exit(2);
}
await import(main.href);
