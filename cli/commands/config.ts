import { Command } from 'commander';
import { loadConfig, redactedConfig, settingsMarkdown } from '../../config/index.js';

export function configCommand(): Command {
  return new Command('config')
    .description(
      'print the effective configuration, secrets redacted (or, with --markdown, the table of settings)',
    )
    .option('--markdown', 'print the settings table as Markdown (the table in docs/configuration.md)')
    .action((opts: { markdown?: boolean }) => {
      if (opts.markdown) {
        process.stdout.write(`${settingsMarkdown()}\n`);
        return;
      }
      process.stdout.write(`${JSON.stringify(redactedConfig(loadConfig()), null, 2)}\n`);
    });
}
