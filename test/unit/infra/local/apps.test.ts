import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../config/index.js';
import { appPaths, appsUp } from '../../../../infra/local/apps.js';

describe('apps up after an app died', () => {
  it('drops the dead app’s pid file and refuses to start over a port another process holds', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'tf-apps-'));
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as net.AddressInfo).port;
    const cfg = loadConfig({
      TOWERFLOW_HOME: home,
      INGEST_PORT: String(port),
      TOWERFLOW_BIND_HOST: '127.0.0.1',
    });
    // a pid file left by an ingest process that was killed
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const { pidFile } = appPaths(cfg, 'ingest');
    writeFileSync(pidFile, `${dead.pid}\n`);
    try {
      await expect(appsUp(cfg, ['ingest'], { timeoutMs: 1000, portReleaseMs: 300 })).rejects.toThrow(
        `ingest: port ${port} on 127.0.0.1 is taken by a process towerflow did not start`,
      );
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      other.close();
    }
  });
});
