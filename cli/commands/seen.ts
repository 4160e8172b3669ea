import { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { requireServices } from '../preflight.js';

/** `towerflow seen rebuild`: the seen sets (what recall leaves out) from the HBase history. */
export function seenCommand(): Command {
  const seen = new Command('seen').description(
    'the per-user seen sets that recall leaves out of its answers',
  );
  seen
    .command('rebuild')
    .description('rebuild the seen sets in Redis from the full history in HBase')
    .option(
      '--replace',
      'make each set exactly what the history says (drops items of SEEN_IGNORED_TYPES); default: add the history to the sets',
    )
    .option('--user <ids...>', 'only these users')
    .option('--json', 'print the result as JSON')
    .action(async (o: { replace?: boolean; user?: string[]; json?: boolean }) => {
      const { HBaseClient } = await import('../../clients/hbase/thrift2.js');
      const { createRedis } = await import('../../clients/redis.js');
      const { assertId } = await import('../../clients/keys.js');
      const { HBaseHistoryStore } = await import('../../stores/history/hbase.js');
      const { RedisSeenStore } = await import('../../stores/seen/redis.js');
      const { seenSettings } = await import('../../stores/seen/index.js');
      const { rebuildSeen } = await import('../../batch/seen-rebuild.js');
      const cfg = loadConfig();
      for (const u of o.user ?? []) assertId('--user', u);
      await requireServices(cfg, ['redis', 'hbase']);
      const hbase = HBaseClient.fromConfig(cfg);
      const redis = createRedis(cfg);
      await redis.connect();
      try {
        const t0 = performance.now();
        const r = await rebuildSeen(
          new HBaseHistoryStore(hbase, cfg.historySaltBuckets),
          new RedisSeenStore(redis, seenSettings(cfg)),
          {
            replace: o.replace === true,
            ...(o.user ? { users: o.user } : {}),
            onProgress: (p) => process.stderr.write(`\rseen rebuild: ${p.users} users, ${p.events} events`),
          },
        );
        const seconds = (performance.now() - t0) / 1000;
        process.stderr.write('\n');
        process.stdout.write(
          o.json
            ? `${JSON.stringify({ ...r, seconds, replace: o.replace === true })}\n`
            : `rebuilt the seen sets of ${r.users} users from ${r.events} events in ${seconds.toFixed(1)} s (${o.replace ? 'replaced' : 'added'})\n`,
        );
      } finally {
        hbase.close();
        await redis.quit();
      }
    });
  return seen;
}
