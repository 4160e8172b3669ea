// Shared helpers for the benchmarks in bench/: timing, percentiles, a table printer, `--json`
// output, progress lines on stderr and a deterministic PRNG for test data.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { describeFailure } from '../cli/failure.js';
import { loadConfig } from '../config/index.js';
import { groupCpuSeconds, readPid } from '../infra/local/process.js';

// A benchmark's failure is printed as the CLI prints one: an expected one (a service down, a port
// taken) as one line with its fix, anything else with its stack; the exit code says which.
process.on('uncaughtException', (e) => {
  const f = describeFailure(e);
  process.stderr.write(f.text);
  process.exit(f.exitCode);
});

// ---- command line -------------------------------------------------------------------------------

export interface BenchArgs {
  json: boolean;
  /** `--name value` options other than `--json`, as given. */
  options: Record<string, string | undefined>;
}

let usage = '';

/** The running benchmark's name (its script's file name). */
const benchName = (): string => path.basename(process.argv[1] ?? 'bench', '.js');

/** A bad command line: the reason and the usage on stderr, exit code 2. */
export function usageError(message: string): never {
  process.stderr.write(`towerflow bench ${benchName()}: ${message}\n${usage}`);
  process.exit(2);
}

/** `raw` as a positive whole number, or a usage error naming `--name`. */
function positiveInt(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1)
    usageError(`--${name}: a positive whole number (or a comma list of them), not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * Parses `--json` and the given `--name value` options. `--help` prints the usage; an unknown or
 * malformed option prints the reason and the usage and exits with 2 (no stack trace).
 */
export function benchArgs(optionNames: string[] = []): BenchArgs {
  usage = `usage: towerflow bench ${benchName()} [--json]${optionNames.map((n) => ` [--${n} VALUE]`).join('')}\n(docs/benchmarks.md says what each option means)\n`;
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        ...Object.fromEntries(optionNames.map((n) => [n, { type: 'string' as const }])),
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    usageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const options: Record<string, string | undefined> = {};
  for (const n of optionNames) {
    const v = values[n];
    options[n] = typeof v === 'string' ? v : undefined;
  }
  return { json: Boolean(values.json), options };
}

/** Positive whole numbers separated by commas from an option, or the default list. */
export function intListOption(args: BenchArgs, name: string, fallback: string): number[] {
  return (args.options[name] ?? fallback).split(',').map((part) => positiveInt(name, part));
}

/** A positive whole number from an option, or the default. */
export function intOption(args: BenchArgs, name: string, fallback: number): number {
  const raw = args.options[name];
  return raw === undefined ? fallback : positiveInt(name, raw);
}

// ---- timing ---------------------------------------------------------------------------------

export const now = (): number => performance.now();

/**
 * A GET over kept-alive node:http connections (at most `sockets` at once), resolving to the
 * status once the body is read. Load generators use it instead of `fetch`: on a 2-core machine
 * the generator shares the CPU with what it measures, and undici's fetch cost about twice the
 * CPU per request (docs/decisions.md, Recall API).
 */
export function keepAliveClient(
  host: string,
  port: number,
  sockets = 8,
  headers: Record<string, string> = {},
): (path: string) => Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  return (path) =>
    new Promise((resolve, reject) => {
      const req = http.get({ host, port, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      // a request the server never answers fails instead of holding the run forever
      req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path}: no answer within 30 s`)));
      req.on('error', reject);
    });
}

/**
 * Share of this machine's CPU time its own processes kept busy since `since` (/proc/stat: user,
 * nice, system, irq and softirq over those plus idle, iowait and steal; steal is the host
 * running someone else, and guest time is already inside user).
 */
export function cpuBusy(since?: number[]): { busy: number; steal: number; sample: number[] } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const sample = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const base = since ?? sample.map(() => 0);
  const d = sample.map((x, i) => x - (base[i] ?? 0));
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = d;
  const busy = user + nice + system + irq + softirq;
  const total = busy + idle + iowait + steal;
  return { busy: total > 0 ? busy / total : 0, steal: total > 0 ? steal / total : 0, sample };
}

/**
 * How fast this machine runs a fixed piece of single-threaded work right now: the median over
 * `rounds` of the wall and CPU milliseconds of one pass. On a shared machine the same code
 * measures up to twice as slow from one hour to the next (docs/decisions.md, Recall API); a
 * latency printed next to this probe can be told apart from a machine that was slower. Wall
 * above CPU: this process waited for a core. The CPU figure is the whole process's (its GC and
 * pool threads too), so it is an upper bound on the loop's own.
 */
export function cpuProbe(rounds = 5): { wall_ms: number; cpu_ms: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  let x = 0x9e3779b9;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < 20_000_000; i++) {
      // xorshift32: integer work the JIT cannot fold away (x is kept below)
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  // xorshift from a non-zero seed never reaches 0, which the JIT cannot know: the loop stays
  if (x === 0) walls.push(Number.NaN);
  return { wall_ms: median(walls), cpu_ms: median(cpus) };
}

/**
 * Waits until the machine's CPU has been under `threshold` busy over a `windowS` window (or
 * `maxS` passed): after a publish, Milvus and HBase compact and flush for a minute or two, and
 * a latency measured then measures that work. Returns the last window's busy share, and
 * whether the wait gave up.
 */
export async function waitForQuiet(
  threshold = 0.25,
  windowS = 5,
  maxS = 240,
): Promise<{ busy: number; timedOut: boolean }> {
  const end = now() + maxS * 1000;
  let last = cpuBusy();
  for (;;) {
    await sleep(windowS * 1000);
    const w = cpuBusy(last.sample);
    last = w;
    progress(`  machine CPU busy ${(w.busy * 100).toFixed(0)} % over ${windowS} s`);
    if (w.busy < threshold) return { busy: w.busy, timedOut: false };
    if (now() > end) return { busy: w.busy, timedOut: true };
  }
}

/** Runs `fn` and returns its result with the elapsed wall time in seconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const t0 = now();
  const result = await fn();
  return { result, seconds: (now() - t0) / 1000 };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `total` recall requests at `rate` per second for random users, at most `concurrency` in
 * flight (the recall and shadow benches' load): the latencies of the 200s, the rest counted.
 */
export async function recallAtRate(
  get: (path: string) => Promise<number>,
  o: { rate: number; total: number; concurrency: number; users: readonly string[]; random: () => number },
): Promise<{ latencies: number[]; errors: number; seconds: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let inFlight = 0;
  const t0 = now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < o.total; i++) {
    const wait = t0 + (i * 1000) / o.rate - now();
    if (wait > 0) await sleep(wait);
    while (inFlight >= o.concurrency) await sleep(0.2);
    const user = o.users[Math.floor(o.random() * o.users.length)] as string;
    inFlight++;
    const start = now();
    pending.push(
      get(`/v1/recall?user_id=${encodeURIComponent(user)}&k=50`)
        .then((status) => {
          if (status !== 200) errors++;
          else latencies.push(now() - start);
        })
        .catch(() => {
          errors++;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  return { latencies, errors, seconds: (now() - t0) / 1000 };
}

/** Polls `cond` every `everyMs` until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  cond: () => boolean,
  what: string,
  timeoutMs = 120_000,
  everyMs = 5,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---- statistics -----------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** CPU seconds so far of the process group a pid file names; undefined when it names none. */
export function pidFileCpuSeconds(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  return pid ? groupCpuSeconds(pid) : undefined;
}

/** The pid file of a local service (`infra up`'s, in the default home: a bench stack has only apps). */
export const servicePidFile = (name: string): string => path.join(loadConfig().homeDir, 'run', `${name}.pid`);

/** Median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface LatencySummary {
  n: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  max_ms: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const n = latenciesMs.length;
  return {
    n,
    p50_ms: percentile(latenciesMs, 50),
    p99_ms: percentile(latenciesMs, 99),
    mean_ms: n === 0 ? Number.NaN : latenciesMs.reduce((s, x) => s + x, 0) / n,
    max_ms: n === 0 ? Number.NaN : Math.max(...latenciesMs),
  };
}

/** Runs `count` tasks with at most `concurrency` in flight; returns each task's latency in ms. */
export async function runConcurrent(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<{ latenciesMs: number[]; seconds: number }> {
  const latenciesMs: number[] = new Array(count);
  let next = 0;
  const t0 = now();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const t = now();
      await task(i);
      latenciesMs[i] = now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return { latenciesMs, seconds: (now() - t0) / 1000 };
}

// ---- output -----------------------------------------------------------------------------------

/** Prints `label: done/total (rate/s)` to stderr every `everyMs` until the returned stop function runs. */
export function ticker(label: string, done: () => number, total: number, everyMs = 2000): () => void {
  const t0 = now();
  const timer = setInterval(() => {
    const n = done();
    const rate = n / ((now() - t0) / 1000);
    progress(`${label}: ${n.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${fmt(rate, 0)}/s)`);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** One progress line on stderr (never on stdout, which `--json` keeps for the result). */
export function progress(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export type Cell = string | number | null | undefined;

/** Formats a number for a table: thousands separators for large values, `digits` decimals for small. */
export function fmt(v: Cell, digits = 2): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(digits);
}

export interface Table {
  title: string;
  headers: string[];
  rows: Cell[][];
}

/** A plain-text table with right-aligned numeric columns. */
export function renderTable(t: Table): string {
  const body = t.rows.map((r) => t.headers.map((_, i) => fmt(r[i])));
  const widths = t.headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const numeric = t.headers.map((_, i) => t.rows.every((r) => typeof r[i] !== 'string'));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [
    `== ${t.title}`,
    line(t.headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
}

/**
 * Collects tables, notes and a JSON result. `finish` prints the tables (and notes) on stdout,
 * or with `--json` on stderr, followed by exactly one JSON object on stdout.
 */
export class Report {
  private readonly tables: Table[] = [];
  private readonly notes: string[] = [];

  constructor(
    readonly name: string,
    private readonly json: boolean,
  ) {}

  table(title: string, headers: string[], rows: Cell[][]): void {
    this.tables.push({ title, headers, rows });
  }

  note(line: string): void {
    this.notes.push(line);
  }

  finish(result: Record<string, unknown>): void {
    const text = [
      ...this.tables.map(renderTable),
      ...(this.notes.length ? [this.notes.map((n) => `* ${n}`).join('\n')] : []),
    ].join('\n\n');
    if (this.json) {
      process.stderr.write(`${text}\n`);
      process.stdout.write(`${JSON.stringify({ bench: this.name, ...result, notes: this.notes })}\n`);
    } else {
      process.stdout.write(`${text}\n`);
    }
  }
}

/**
 * Sum of a metric's samples in Prometheus text (0 when absent), only those whose label set
 * contains `label` (e.g. `stage="milvus"`) when given.
 */
export function metricSum(text: string, name: string, label?: string): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && (!label || l.includes(label)))
    .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
}

/** Mean ms per recall stage from `towerflow serve`'s /metrics text (its stage histograms). */
export function recallStageMeans(
  text: string,
  stages: readonly string[] = ['features', 'user_vector', 'milvus', 'popular'],
): { stage: string; count: number; mean_ms: number }[] {
  return stages.map((stage) => {
    const count = metricSum(text, 'towerflow_recall_stage_seconds_count', `stage="${stage}"`);
    const sum = metricSum(text, 'towerflow_recall_stage_seconds_sum', `stage="${stage}"`);
    return { stage, count, mean_ms: count > 0 ? (sum / count) * 1000 : 0 };
  });
}

/** Host facts worth keeping next to any number. */
export async function hostInfo(): Promise<Record<string, unknown>> {
  const os = await import('node:os');
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    loadavg_1m: Number(os.loadavg()[0]?.toFixed(2)),
    at: new Date().toISOString(),
  };
}

// ---- deterministic data -----------------------------------------------------------------------

/** mulberry32: the project's seeded PRNG (floats in [0, 1)). */
import { seededRandom } from '../model/data/random.js';

export const mulberry32 = seededRandom;

/** Standard normal samples (Box–Muller) from a uniform source. */
export function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * `count` random unit vectors of dimension `dim` (uniform on the sphere), row-major in one
 * Float32Array. Same seed, same vectors.
 */
export function randomUnitVectors(count: number, dim: number, seed: number): Float32Array {
  const g = gaussian(mulberry32(seed));
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const off = i * dim;
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const x = g();
      out[off + d] = x;
      norm += x * x;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) out[off + d] = (out[off + d] as number) * inv;
  }
  return out;
}

/** Row `i` of a row-major matrix as a plain array (what the Milvus SDK takes). */
export function row(matrix: Float32Array, dim: number, i: number): number[] {
  return Array.from(matrix.subarray(i * dim, (i + 1) * dim));
}

/** FNV-1a 32-bit hash of a string, for spreading keys evenly. */
export { fnv1a } from '../runtime/hash.js';

/** A short random suffix for temporary resource names. */
export function runId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0')}`;
}
