import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../../chaos/drill.js';
import { REPRESENTATIVE_FAULTS } from '../../../chaos/faults.js';
import { projectRoot } from '../../../config/index.js';

// The fault drill of `towerflow chaos` on the real stack, for one fault of each kind (a shared
// service, a stream processor with the embedding ledger, the ingest API): `towerflow chaos`
// runs every fault. Each kill lands a third of the way into a phase of paced events.

const EVENTS = 4000;

describe('fault drill: kill -9 under load, then exact books', () => {
  it('loses nothing, doubles nothing, mixes no versions and never answers recall with a 5xx', async () => {
    const report = await runDrill({
      faults: REPRESENTATIVE_FAULTS,
      rate: 1000,
      phaseEvents: EVENTS,
      downSeconds: 2,
      seedEvents: 10_000,
      epochs: 1,
      dataset: path.join(projectRoot(), 'datasets', 'ml-latest-small'),
      redisDb: 2,
      portOffset: 61,
      say: (m) => process.stderr.write(`chaos: ${m}\n`),
    });
    expect(report.failed).toEqual([]);
    expect(report.faults.map((f) => f.name)).toEqual([...REPRESENTATIVE_FAULTS]);
    for (const f of report.faults) {
      const line = {
        name: f.name,
        lost: f.lost,
        doubled: f.doubled,
        mixed: f.mixed_versions,
        recall5xx: f.recall_5xx,
      };
      expect(line).toEqual({ name: f.name, lost: 0, doubled: 0, mixed: 0, recall5xx: 0 });
      // every event of the phase was acknowledged once the component was back, and is in HBase once
      expect(f.accepted).toBe(EVENTS);
      expect(f.books.hbase.rows).toBe(EVENTS);
      expect(f.books.embeddings?.usersMismatched).toBe(0);
      expect(typeof f.personal_back_s).toBe('number');
    }
    // the ingest API was down: its posts were answered by nobody and posted again
    expect(report.faults.find((f) => f.name === 'ingest')?.retried).toBeGreaterThan(0);
    // Redis was down: recall served around it, and said so
    expect(report.faults.find((f) => f.name === 'redis')?.recall_degraded).toBeGreaterThan(0);
  }, 900_000);
});
