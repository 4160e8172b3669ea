import { Command } from 'commander';
import { projectRoot } from '../../config/index.js';

/** `towerflow docs generate`: the generated parts of docs/ (architecture picture, decisions index). */
export function docsCommand(): Command {
  const cmd = new Command('docs').description('the generated parts of docs/');
  cmd
    .command('generate')
    .description(
      'draw docs/architecture.png and the Mermaid block of docs/architecture.md from cli/docs/architecture.ts, and index the headings of docs/decisions.md',
    )
    .action(async () => {
      const { generateDocs } = await import('../docs/generate.js');
      process.stdout.write(`wrote ${generateDocs(projectRoot()).join(', ')}\n`);
    });
  return cmd;
}
