// Training speed of the two towers on native TensorFlow (tfjs-node): the hand-differentiated
// step and the taped (tfjs autodiff) step, bf16 and float32 matmuls, against the pure-JS CPU
// backend on the same model and batches, in one run; and peak memory of a long run.
//
//   npx tsx bench/train.ts [--json] [--steps 40] [--rounds 2] [--js-budget-s 300]
//                          [--memory-interactions 0]
//
// Data: synthetic, 6,000 users × 4,000 items (the shape the issue quotes), batch 1024, 64-d
// output. oneDNN fixes its matmul precision per process, so each variant runs in child
// processes, in order and then in reverse for `rounds` rounds (the machine's speed drifts); the headline
// is the configured variant (TF_TRAIN_STEP, TF_MATMUL_PRECISION). The pure-JS step runs in a
// child process with a time budget: when it does not finish, the speed-up is reported as a lower
// bound. With --memory-interactions N (e.g. 1000000) it also trains one epoch over N synthetic
// interactions and reports the process's peak resident memory.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSetting } from '../config/index.js';
import { syntheticDataset } from '../model/data/synthetic.js';
import { buildVocabularies, DEFAULT_FEATURES, detectFields, encodeItems } from '../model/features.js';
import { fitTwoTower } from '../model/pipeline.js';
import { buildTrainingSet } from '../model/samples.js';
import { tf } from '../model/tf.js';
import { DEFAULT_TOWERS, itemFeatures, shapesOf, TwoTower } from '../model/towers.js';
import { rng, type Stepper, stepRunner, trainStep } from '../model/train.js';
import { benchArgs, hostInfo, intOption, median, progress, Report } from './lib.js';

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  const args = benchArgs(['steps', 'rounds', 'js-budget-s', 'memory-interactions', 'child']);
  const steps = intOption(args, 'steps', 40);
  const rounds = intOption(args, 'rounds', 2);
  const jsBudget = intOption(args, 'js-budget-s', 300);
  const child = args.options.child;
  const memoryN = args.options['memory-interactions'] ? intOption(args, 'memory-interactions', 0) : 0;
  const report = new Report('train', args.json);
  const B = 1024;
  const R = 512;

  progress('generating 6,000 users × 4,000 items, 200,000 interactions');
  const ds = syntheticDataset({ users: 6000, items: 4000, interactions: 200_000, seed: 11 });
  const features = detectFields(ds, DEFAULT_FEATURES);
  const vocab = buildVocabularies(ds, ds.interactions, features);
  const items = encodeItems([...ds.items.values()], vocab, features);
  const set = buildTrainingSet(ds, ds.interactions, vocab, items, features);
  const towers = { ...DEFAULT_TOWERS, outDim: 64 };
  const random = rng(5);

  /** Median seconds per Adam step on the current backend. */
  async function stepTimes(n: number, warmup: number): Promise<number[]> {
    const model = new TwoTower(shapesOf(vocab, features), towers);
    const it = itemFeatures(items);
    const runner = stepRunner(model, it, features, 0.002);
    const stepper: Stepper = {
      items: it,
      set,
      features,
      runner,
      randomNegatives: R,
      logQ: new Float32Array(items.ids.length),
      logQNeg: 0,
      random,
    };
    const times: number[] = [];
    try {
      for (let s = 0; s < n + warmup; s++) {
        const idx = Array.from({ length: B }, () => Math.floor(random() * set.n));
        const t0 = performance.now();
        trainStep(stepper, idx);
        if (s >= warmup) times.push((performance.now() - t0) / 1000);
        progress(
          `  ${tf.getBackend()} step ${s + 1}/${n + warmup}: ${((performance.now() - t0) / 1000).toFixed(3)} s`,
        );
      }
    } finally {
      runner.dispose();
      model.dispose();
    }
    return times;
  }

  if (child === 'js') {
    // child mode: one step on the pure-JS CPU backend, seconds on stdout
    await tf.setBackend('cpu');
    const [t] = await stepTimes(1, 0);
    process.stdout.write(`${t}\n`);
    return;
  }
  if (child === 'native') {
    // child mode: step seconds on the native backend, one per line
    process.stdout.write(`${(await stepTimes(steps, 3)).join('\n')}\n`);
    return;
  }
  const configured = { step: readSetting('tfTrainStep'), precision: readSetting('tfMatmulPrecision') };
  const variants = [
    { step: 'native', precision: 'bf16' },
    { step: 'tape', precision: 'bf16' },
    { step: 'native', precision: 'fp32' },
    { step: 'tape', precision: 'fp32' },
  ] as const;
  const label = (v: { step: string; precision: string }) => `${v.step} step, ${v.precision} matmuls`;
  const times = new Map<string, number[]>(variants.map((v) => [label(v), []]));
  // ABCD, then DCBA: over an even number of rounds a linear drift of the machine's speed
  // favours no variant
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < variants.length; k++) {
      const v = variants[r % 2 === 0 ? k : variants.length - 1 - k] as (typeof variants)[number];
      progress(`native backend, ${label(v)} (round ${r + 1}/${rounds}): ${steps} steps after 3 warm-up`);
      const out = await runChild(['--child', 'native', '--steps', String(steps)], {
        TF_MATMUL_PRECISION: v.precision,
        TF_TRAIN_STEP: v.step,
      });
      if (out === undefined) throw new Error(`the ${label(v)} child did not finish within an hour`);
      times.get(label(v))?.push(...out);
    }
  const stepOf = (v: { step: string; precision: string }) => median(times.get(label(v)) ?? []);
  const nativeStep = stepOf(configured);
  progress(`pure-JS backend: one step in a child process, budget ${jsBudget} s`);
  const jsStep = (await runChild(['--child', 'js'], {}, jsBudget))?.[0];
  const samplesPerS = B / nativeStep;
  const jsDone = jsStep !== undefined;
  const speedup = (jsStep ?? jsBudget) / nativeStep;
  const isConfigured = (v: { step: string; precision: string }) =>
    v.step === configured.step && v.precision === configured.precision;
  report.table(
    `training step: 6,000 users × 4,000 items, batch 1024, 512 random negatives, 64-d output, Adam (${rounds} rounds, order reversed every other one)`,
    ['backend', 'steps', 'median_ms_per_step', 'samples_per_s'],
    [
      ...variants.map((v) => [
        `tensorflow (native), ${label(v)}${isConfigured(v) ? ' (configured)' : ''}`,
        times.get(label(v))?.length ?? 0,
        stepOf(v) * 1000,
        Math.round(B / stepOf(v)),
      ]),
      [
        'cpu (pure JS), taped step',
        1,
        jsDone ? jsStep * 1000 : `> ${jsBudget * 1000}`,
        jsDone ? Math.round(B / jsStep) : `< ${(B / jsBudget).toFixed(1)}`,
      ],
    ],
  );
  for (const precision of ['bf16', 'fp32'] as const)
    report.note(
      `native / taped step with ${precision} matmuls in this run: ${(stepOf({ step: 'tape', precision }) / stepOf({ step: 'native', precision })).toFixed(2)}×`,
    );
  report.note(
    `bf16 / fp32 matmuls, native step, in this run: ${(stepOf({ step: 'native', precision: 'fp32' }) / stepOf({ step: 'native', precision: 'bf16' })).toFixed(2)}×`,
  );
  report.note(
    jsDone
      ? `configured native / pure-JS speed-up in this run: ${speedup.toFixed(0)}×`
      : `the pure-JS step did not finish within ${jsBudget} s: speed-up ≥ ${speedup.toFixed(0)}×`,
  );

  let memory:
    | { interactions: number; seconds: number; samples_per_s: number; peak_rss_mib: number }
    | undefined;
  if (memoryN > 0) {
    progress(
      `memory: one epoch over ${memoryN.toLocaleString('en-US')} synthetic interactions (6k users, 4k items)`,
    );
    const big = syntheticDataset({ users: 6000, items: 4000, interactions: memoryN, seed: 12 });
    const t0 = performance.now();
    const fitted = await fitTwoTower(big, big.interactions, {
      train: { epochs: 1 },
      onStep: (s) => {
        if (s.step % 100 === 0)
          progress(`  step ${s.step}: loss ${s.loss.toFixed(3)}, ${Math.round(s.samplesPerSecond)}/s`);
      },
    });
    memory = {
      interactions: memoryN,
      seconds: (performance.now() - t0) / 1000,
      samples_per_s: Math.round(fitted.result.samplesPerSecond),
      peak_rss_mib: Math.round(peakRssMiB()),
    };
    fitted.model.dispose();
    report.table(
      'one epoch over a large synthetic dataset',
      ['interactions', 'seconds', 'samples_per_s', 'peak_rss_mib'],
      [[memory.interactions, memory.seconds, memory.samples_per_s, memory.peak_rss_mib]],
    );
  }
  report.finish({
    host: await hostInfo(),
    samples_per_s: Math.round(samplesPerS),
    train_step: configured.step,
    matmul_precision: configured.precision,
    samples_per_s_by_variant: Object.fromEntries(variants.map((v) => [label(v), Math.round(B / stepOf(v))])),
    speedup_vs_js: Math.round(speedup),
    speedup_is_lower_bound: !jsDone,
    native_step_s: nativeStep,
    js_step_s: jsStep ?? null,
    batch: B,
    ...(memory ? { memory } : {}),
  });
}

/**
 * Runs this bench in child mode and returns the numbers it printed, or undefined when it did not
 * finish within the budget. A child that fails (rather than runs out of time) fails the bench: a
 * crash is not a lower bound.
 */
function runChild(
  args: string[],
  env: Record<string, string>,
  budgetS = 3600,
): Promise<number[] | undefined> {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const childEnv = { ...process.env, ...env };
    // the precision setting must decide, even over a math mode this process was started with
    if (env.TF_MATMUL_PRECISION) delete childEnv.ONEDNN_DEFAULT_FPMATH_MODE;
    const child = spawn(process.execPath, [...process.execArgv, self, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, budgetS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`the child ${args.join(' ')} could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const values = out
        .trim()
        .split('\n')
        .map((l) => Number.parseFloat(l));
      if (code === 0 && values.length > 0 && values.every(Number.isFinite)) resolve(values);
      else if (timedOut) resolve(undefined);
      else
        reject(new Error(`the child ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${err.trim()}`));
    });
  });
}

main().catch((e) => {
  progress(`train bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
