// Training speed of the two towers: native TensorFlow (tfjs-node) against the pure-JS CPU
// backend on the same model and batches, in one run; and peak memory of a long run.
//
//   npx tsx bench/train.ts [--json] [--steps 40] [--js-budget-s 300] [--memory-interactions 0]
//
// Data: synthetic, 6,000 users × 4,000 items (the shape the issue quotes), batch 1024, 64-d
// output. The pure-JS step runs in a child process with a time budget: when it does not
// finish, the speed-up is reported as a lower bound (budget / native step). With
// --memory-interactions N (e.g. 1000000) it also trains one epoch over N synthetic
// interactions and reports the process's peak resident memory.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { syntheticDataset } from '../model/data/synthetic.js';
import { buildVocabularies, DEFAULT_FEATURES, detectFields, encodeItems } from '../model/features.js';
import { adam } from '../model/fused-adam.js';
import { fitTwoTower } from '../model/pipeline.js';
import { buildTrainingSet } from '../model/samples.js';
import { tf } from '../model/tf.js';
import { DEFAULT_TOWERS, itemFeatures, shapesOf, TwoTower } from '../model/towers.js';
import { rng, type Stepper, trainStep } from '../model/train.js';
import { benchArgs, hostInfo, intOption, median, progress, Report } from './lib.js';

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  const args = benchArgs(['steps', 'js-budget-s', 'memory-interactions', 'js-child']);
  const steps = intOption(args, 'steps', 40);
  const jsBudget = intOption(args, 'js-budget-s', 300);
  const jsChild = args.options['js-child'] === '1';
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
    const optimizer = adam(0.002);
    const stepper: Stepper = {
      model,
      items: it,
      set,
      features,
      optimizer,
      randomNegatives: R,
      logQ: new Float32Array(items.ids.length),
      logQNeg: 0,
      random,
    };
    const times: number[] = [];
    for (let s = 0; s < n + warmup; s++) {
      const idx = Array.from({ length: B }, () => Math.floor(random() * set.n));
      const t0 = performance.now();
      const loss = trainStep(stepper, idx);
      await loss?.data();
      loss?.dispose();
      if (s >= warmup) times.push((performance.now() - t0) / 1000);
      progress(
        `  ${tf.getBackend()} step ${s + 1}/${n + warmup}: ${((performance.now() - t0) / 1000).toFixed(3)} s`,
      );
    }
    optimizer.dispose();
    model.dispose();
    return times;
  }

  if (jsChild) {
    // child mode: one step on the pure-JS CPU backend, seconds on stdout
    await tf.setBackend('cpu');
    const [t] = await stepTimes(1, 0);
    process.stdout.write(`${t}\n`);
    return;
  }
  progress(`native backend (${tf.getBackend()}): ${steps} steps after 3 warm-up`);
  const native = await stepTimes(steps, 3);
  const nativeStep = median(native);
  progress(`pure-JS backend: one step in a child process, budget ${jsBudget} s`);
  const jsStep = await pureJsStep(jsBudget);
  const samplesPerS = B / nativeStep;
  const jsDone = jsStep !== undefined;
  const speedup = (jsStep ?? jsBudget) / nativeStep;
  report.table(
    'training step: 6,000 users × 4,000 items, batch 1024, 512 random negatives, 64-d output, Adam',
    ['backend', 'steps', 'median_s_per_step', 'samples_per_s'],
    [
      ['tensorflow (native)', native.length, nativeStep, Math.round(samplesPerS)],
      [
        'cpu (pure JS)',
        1,
        jsDone ? jsStep : `> ${jsBudget}`,
        jsDone ? Math.round(B / jsStep) : `< ${(B / jsBudget).toFixed(1)}`,
      ],
    ],
  );
  report.note(
    jsDone
      ? `native / pure-JS speed-up in this run: ${speedup.toFixed(0)}×`
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
    speedup_vs_js: Math.round(speedup),
    speedup_is_lower_bound: !jsDone,
    native_step_s: nativeStep,
    js_step_s: jsStep ?? null,
    batch: B,
    ...(memory ? { memory } : {}),
  });
}

/**
 * Seconds of one pure-JS step, or undefined when it did not finish within the budget. A child
 * that fails (rather than runs out of time) fails the bench: a crash is not a lower bound.
 */
function pureJsStep(budgetS: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [...process.execArgv, self, '--js-child', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
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
      reject(new Error(`the pure-JS step could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const t = Number.parseFloat(out.trim());
      if (Number.isFinite(t)) resolve(t);
      else if (timedOut) resolve(undefined);
      else reject(new Error(`the pure-JS step failed (${signal ?? `exit ${code}`}):\n${err.trim()}`));
    });
  });
}

main().catch((e) => {
  progress(`train bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
