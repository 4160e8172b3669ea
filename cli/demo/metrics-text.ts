/**
 * Sums the samples of one metric in a Prometheus text exposition whose labels include `match`
 * (every label given must be equal). For reading a process's own /metrics without a Prometheus.
 */
export function sumSamples(text: string, metric: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels = parseLabels(m[3] ?? '');
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

function parseLabels(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(body); m; m = re.exec(body))
    out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, '$1');
  return out;
}
