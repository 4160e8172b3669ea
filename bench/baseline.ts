// One benchmark, this checkout against an older revision, alternating in one run on the same
// machine (the machines' speed varies from day to day: only a ratio measured side by side means
// anything). The old revision is checked out beside this one (a git worktree under
// $TOWERFLOW_HOME/baseline/<rev>, sharing node_modules and the local services), built once, and
// each round runs `bench NAME` from both, in alternating order.
//
//   towerflow bench baseline --rev 1d3777a [--bench ingest|recall] [--rounds 3] [--args="--events 200000"] [--json]
//
// Per round and per side: the bench's own JSON, and the unit costs taken from it the same way for
// both sides (ingest: the stack's CPU per event, every process but the bench's client, from its
// per-process CPU seconds, which old revisions report too). The summary gives each side's median
// and the ratio new/old of the medians.
//
// recall: old revisions do not report their servers' CPU, so this runner measures it for both
// sides alike: it follows the bench's progress lines (`… N requests/s for S s …` starts a rate,
// the next line ends it) and samples the CPU of the bench's recall API process and of Milvus
// every 100 ms; a rate's CPU per request is their CPU over it divided by its requests.

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, projectRoot } from '../config/index.js';
import { benchArgs, intOption, median, pidFileCpuSeconds, progress, Report, servicePidFile } from './lib.js';

const args = benchArgs(['rev', 'bench', 'rounds', 'args']);
const rev = args.options.rev;
if (!rev || !/^[0-9a-f]{7,40}$/i.test(rev)) {
  progress('--rev must name a commit (7–40 hex digits), e.g. --rev 1d3777a');
  process.exit(2);
}
const bench = args.options.bench ?? 'ingest';
const rounds = intOption(args, 'rounds', 3);
/** The bench's own options, the same for both sides. */
const passThrough = (args.options.args ?? '').split(/\s+/).filter(Boolean);
const report = new Report('baseline', args.json);

/** One rate of a recall bench, with the CPU its servers spent on it (seconds). */
interface RatePhase {
  rate: number;
  seconds: number;
  serveCpu: number;
  milvusCpu: number;
}

/** The unit costs of one result, computed the same way for either side. */
const UNIT_COSTS: Record<
  string,
  (r: Record<string, unknown>, passed: string[], phases: RatePhase[]) => Record<string, number>
> = {
  recall: (r, _passed, phases) => {
    // the rate the targets name (200 requests/s), the last value of RECALL_SEARCH_BATCH measured
    const at = phases.filter((p) => p.rate === 200).at(-1);
    if (!at) throw new Error('bench recall ran no 200 requests/s phase: pass --rates with 200 in --args');
    const requests = at.rate * at.seconds;
    return {
      cpu_ms_per_request: ((at.serveCpu + at.milvusCpu) * 1000) / requests,
      'cpu_ms_per_request.serve': (at.serveCpu * 1000) / requests,
      'cpu_ms_per_request.milvus': (at.milvusCpu * 1000) / requests,
      p99_ms: Number(r.p99_ms),
      p50_ms: Number(r.p50_ms),
    };
  },
  ingest: (r, passed) => {
    const cpu = r.cpu_seconds as Record<string, number>;
    const at = passed.indexOf('--events');
    const events = Number(r.events ?? (at >= 0 ? passed[at + 1] : 600_000));
    const stack = Object.entries(cpu)
      .filter(([k]) => !k.startsWith('bench'))
      .reduce((a, [, v]) => a + v, 0);
    return {
      cpu_us_per_event: (stack / events) * 1e6,
      events_per_s: Number(r.events_per_s),
      p99_visible_ms: Number(r.p99_visible_ms),
      ...Object.fromEntries(
        Object.entries(cpu).map(([k, v]) => [
          `cpu_us_per_event.${k.replace(/\s.*$/, '')}`,
          (v / events) * 1e6,
        ]),
      ),
    };
  },
};

const unitCosts = UNIT_COSTS[bench];
if (!unitCosts) {
  progress(
    `--bench ${bench}: no unit costs defined for it here (known: ${Object.keys(UNIT_COSTS).join(', ')})`,
  );
  process.exit(2);
}

/** The old revision's checkout, built (tsc) once; node_modules and generated stubs shared. */
function prepareBaseline(root: string, home: string): string {
  const full = execFileSync('git', ['-C', root, 'rev-parse', rev as string], { encoding: 'utf8' }).trim();
  const dir = path.join(home, 'baseline', full.slice(0, 12));
  if (!existsSync(path.join(dir, 'dist', 'bin', 'towerflow.js'))) {
    if (!existsSync(dir)) {
      mkdirSync(path.dirname(dir), { recursive: true });
      execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, full], {
        stdio: ['ignore', 2, 2],
      });
    }
    if (!existsSync(path.join(dir, 'node_modules')))
      symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const gen = path.join('clients', 'hbase', 'gen');
    if (existsSync(path.join(root, gen)) && !existsSync(path.join(dir, gen)))
      cpSync(path.join(root, gen), path.join(dir, gen), { recursive: true });
    progress(`building ${full.slice(0, 12)} in ${dir}`);
    // stdout is the JSON result's: everything else goes to stderr
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], {
      stdio: ['ignore', 2, 2],
    });
  }
  return dir;
}

/**
 * The recall API's pid file of the bench stack a run started (under the checkout's
 * `.towerflow/test-homes/`, where an IsolatedStack keeps it): the newest written since `since`.
 */
function recallPidFile(checkout: string, since: number): string | undefined {
  // a stack's relative TOWERFLOW_HOME resolves against the root of the checkout that runs it
  const homes = path.join(checkout, '.towerflow', 'test-homes');
  let newest: { file: string; mtime: number } | undefined;
  for (const id of existsSync(homes) ? readdirSync(homes) : []) {
    const file = path.join(homes, id, 'run', 'app-serve.pid');
    const mtime = existsSync(file) ? statSync(file).mtimeMs : 0;
    if (mtime >= since && (!newest || mtime > newest.mtime)) newest = { file, mtime };
  }
  return newest?.file;
}

/** Runs `bench NAME --json ARGS` from a checkout; its JSON result and (recall) its rate phases. */
function runBench(
  checkout: string,
  home: string,
): Promise<{ json: Record<string, unknown>; phases: RatePhase[] }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [path.join(checkout, 'bin', 'towerflow.js'), 'bench', bench, '--json', ...passThrough],
      { env: { ...process.env, TOWERFLOW_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // recall: the servers' CPU, sampled, and the rate phases from the progress lines
    const phases: RatePhase[] = [];
    let last: { serve: number; milvus: number } | undefined;
    let open: { rate: number; seconds: number; at: { serve: number; milvus: number } } | undefined;
    // the stack's folder is looked for until found, then kept (serve restarts in the same home)
    let servePidFile: string | undefined;
    const sample = () => {
      servePidFile ??= recallPidFile(checkout, started);
      const serve = servePidFile && pidFileCpuSeconds(servePidFile);
      const milvus = pidFileCpuSeconds(servicePidFile('milvus'));
      if (serve && milvus !== undefined) last = { serve, milvus };
    };
    const sampler = bench === 'recall' ? setInterval(sample, 100) : undefined;
    const close = () => {
      if (open && last)
        phases.push({
          rate: open.rate,
          seconds: open.seconds,
          serveCpu: last.serve - open.at.serve,
          milvusCpu: last.milvus - open.at.milvus,
        });
      open = undefined;
    };
    let pending = '';
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!sampler) continue;
        sample();
        close();
        const m = /: (\d+) requests\/s for (\d+) s/.exec(line);
        if (m && last) open = { rate: Number(m[1]), seconds: Number(m[2]), at: last };
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (sampler) clearInterval(sampler);
      close();
      if (code !== 0) return reject(new Error(`bench ${bench} in ${checkout} exited ${code}`));
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ json: JSON.parse(line) as Record<string, unknown>, phases });
      } catch {
        reject(new Error(`bench ${bench} in ${checkout} printed no JSON: ${line.slice(0, 200)}`));
      }
    });
  });
}

const root = projectRoot();
// the services and their state are this checkout's, whichever code runs
const home = loadConfig().homeDir;
const old = prepareBaseline(root, home);
const sides = { old: old, new: root } as const;
const results: { round: number; side: keyof typeof sides; costs: Record<string, number> }[] = [];
for (let round = 1; round <= rounds; round++) {
  // alternate which side goes first: a machine that slows down during the run favours neither
  const order: (keyof typeof sides)[] = round % 2 === 1 ? ['old', 'new'] : ['new', 'old'];
  for (const side of order) {
    progress(`round ${round}/${rounds}: ${side} (${side === 'old' ? rev : 'this checkout'})`);
    const r = await runBench(sides[side], home);
    const costs = unitCosts(r.json, passThrough, r.phases);
    results.push({ round, side, costs });
    progress(
      `  ${Object.entries(costs)
        .filter(([k]) => !k.includes('.'))
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}`,
    );
  }
}

const keys = Object.keys(results[0]?.costs ?? {});
const summary = keys.map((k) => {
  const of = (side: keyof typeof sides) =>
    results.filter((r) => r.side === side).map((r) => r.costs[k] as number);
  const o = median(of('old'));
  const n = median(of('new'));
  return { measure: k, old: o, new: n, ratio: n / o };
});
report.table(
  `bench ${bench}: ${rev} (old) against this checkout (new), ${rounds} alternating rounds, medians`,
  ['measure', 'old', 'new', 'new / old'],
  summary.map((s) => [s.measure, s.old, s.new, s.ratio]),
);
report.finish({
  bench,
  baseline: rev,
  rounds,
  args: passThrough,
  per_round: results,
  medians: Object.fromEntries(summary.map((s) => [s.measure, { old: s.old, new: s.new, ratio: s.ratio }])),
});
