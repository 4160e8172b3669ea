import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { makeContext, status, up } from '../../infra/local/stack.js';

type Step = { service: string; did: string; ms: number };

async function timed(steps: Step[], service: string, fn: () => Promise<string>): Promise<void> {
  const t0 = performance.now();
  const did = await fn();
  steps.push({ service, did, ms: Math.round(performance.now() - t0) });
  process.stderr.write(`demo: ${service}: ${did}\n`);
}

/** Until the full pipeline exists: services up, then one real round trip through each. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('bring the local services up and run a smoke round trip through each')
    .action(async () => {
      // native clients load only when this command runs, so `infra down` never depends on them
      const { startBatchConsumer } = await import('../../clients/kafka/consumer.js');
      const { IdempotentProducer } = await import('../../clients/kafka/rdkafka.js');
      const { HBaseClient } = await import('../../clients/hbase/thrift2.js');
      const { ItemVectors } = await import('../../clients/milvus/client.js');
      const { createRedis } = await import('../../clients/redis.js');
      const ctx = makeContext();
      const t0 = Date.now();
      await up(ctx);
      const cfg = ctx.cfg;
      const steps: Step[] = [];
      const tag = randomUUID().slice(0, 8);

      await timed(steps, 'kafka', async () => {
        const topic = 'behaviour.events';
        const producer = new IdempotentProducer(cfg);
        await producer.connect();
        const value = JSON.stringify({
          event_id: `smoke-${tag}`,
          user_id: 'smoke',
          item_id: 'smoke',
          ts: Date.now(),
        });
        const offset = await producer.send(topic, { key: 'smoke', value });
        await producer.disconnect();
        let seen = false;
        const consumer = await startBatchConsumer(cfg, {
          groupId: `towerflow-smoke-${tag}`,
          topics: [topic],
          handle: async (recs) => {
            if (recs.some((r) => r.value?.toString() === value)) seen = true;
          },
        });
        const deadline = Date.now() + 30_000;
        while (!seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        await consumer.stop();
        if (!seen) throw new Error('kafka: produced message was not consumed within 30 s');
        return `produced 1 event (acks=all, offset ${offset}) and consumed it back in a consumer group`;
      });

      await timed(steps, 'hbase', async () => {
        const hbase = HBaseClient.fromConfig(cfg);
        try {
          await hbase.createTable('smoke', [{ name: 'f' }]);
          await hbase.put('smoke', `row-${tag}`, { 'f:v': 'hello' });
          const row = await hbase.get('smoke', `row-${tag}`);
          if (row?.cells.get('f:v')?.toString() !== 'hello')
            throw new Error('hbase: read back a different value');
          await hbase.delete('smoke', `row-${tag}`);
          return `put, get and delete of one row in ${cfg.hbaseNamespace}:smoke via the Thrift2 gateway`;
        } finally {
          hbase.close();
        }
      });

      await timed(steps, 'redis', async () => {
        const redis = createRedis(cfg);
        await redis.connect();
        try {
          const key = `tf:smoke:${tag}`;
          await redis.set(key, 'hello', 'EX', 60);
          if ((await redis.get(key)) !== 'hello') throw new Error('redis: read back a different value');
          await redis.del(key);
          return 'set, get and delete of one key';
        } finally {
          redis.disconnect();
        }
      });

      await timed(steps, 'milvus', async () => {
        const milvus = ItemVectors.fromConfig(cfg);
        const name = `smoke_${tag}`;
        try {
          await milvus.createCollection({ name, dim: 4, scalars: [{ name: 'category', type: 'varchar' }] });
          await milvus.createHnswIndex(name);
          await milvus.load(name);
          await milvus.insert(name, [
            { item_id: 'a', vector: [1, 0, 0, 0], category: 'x' },
            { item_id: 'b', vector: [0, 1, 0, 0], category: 'y' },
          ]);
          const hits = await milvus.search(name, [0.9, 0.1, 0, 0], 2);
          if (hits[0]?.item_id !== 'a')
            throw new Error(`milvus: expected item a first, got ${JSON.stringify(hits)}`);
          return `created a collection, HNSW/IP index, inserted 2 vectors, top hit ${hits[0].item_id} (score ${hits[0].score.toFixed(3)})`;
        } finally {
          await milvus.dropCollection(name).catch(() => {});
          await milvus.close();
        }
      });

      await timed(steps, 'prometheus', async () => {
        const res = await fetch(`${cfg.prometheusUrl}/api/v1/query?query=up`);
        const body = (await res.json()) as { status: string; data: { result: unknown[] } };
        if (body.status !== 'success') throw new Error('prometheus: query failed');
        return `query \`up\` answered with ${body.data.result.length} series`;
      });

      console.table(steps);
      const rows = await status(ctx);
      const mem = rows.reduce((s, r) => s + (r.rssBytes ?? 0), 0);
      process.stdout.write(
        `\nAll ${steps.length} services answered a real round trip (${((Date.now() - t0) / 1000).toFixed(0)} s in all; ` +
          `services use ${(mem / 2 ** 20).toFixed(0)} MiB resident).\n` +
          `Prometheus: ${cfg.prometheusUrl}   Status: node bin/towerflow.js infra status   Stop: node bin/towerflow.js infra down\n`,
      );
    });
}
