import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../config/index.js';
import { InfraError } from './process.js';

const run = promisify(execFile);

/** Absolute `java` of a JDK 17+; error names the fix when missing. */
export async function findJava(cfg: Config): Promise<string> {
  const candidates = [cfg.javaHome, process.env.JAVA_HOME, '/usr/lib/jvm/java-17-openjdk-amd64']
    .filter((h): h is string => Boolean(h))
    .map((h) => path.join(h, 'bin', 'java'));
  candidates.push('java');
  for (const java of candidates) {
    if (java !== 'java' && !existsSync(java)) continue;
    try {
      const { stderr } = await run(java, ['-version']);
      const m = /version "(\d+)/.exec(stderr);
      if (m?.[1] && Number(m[1]) >= 17) return java;
    } catch {
      // try the next
    }
  }
  throw new InfraError(
    'Java 17 or newer is missing: Kafka and HBase need it. Install it (Debian: `apt-get install openjdk-17-jre-headless`) or set TOWERFLOW_JAVA_HOME to a JDK 17+.',
  );
}

/** A binary from a Debian package; the error names the package to install. */
export function requireDebianBinary(binary: string, pkg: string): string {
  if (existsSync(binary)) return binary;
  throw new InfraError(
    `${binary} is missing. Install Debian's ${pkg}: \`apt-get install -y ${pkg}\` (scripts/bootstrap.sh does this when run as root).`,
  );
}
