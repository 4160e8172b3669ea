/** One step of the demo as reported at the end. */
export interface StepReport {
  step: string;
  result: string;
  seconds: number;
}

/** Runs the demo's steps in order, saying each on stderr (stdout is kept for the summary). */
export class StepRunner {
  readonly steps: StepReport[] = [];

  say(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  /** Runs `fn` as the named step; its returned text is the step's result line. */
  async run<T>(step: string, fn: () => Promise<{ result: string; value: T }>): Promise<T> {
    this.say(`demo: ${step}…`);
    const t0 = performance.now();
    const { result, value } = await fn();
    this.steps.push({ step, result, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) });
    this.say(`demo: ${step}: ${result}`);
    return value;
  }

  /** The steps as a plain text table (step, seconds, result). */
  table(): string {
    const w = Math.max(4, ...this.steps.map((s) => s.step.length));
    const lines = [`${'step'.padEnd(w)}  ${'s'.padStart(6)}  result`];
    for (const s of this.steps)
      lines.push(`${s.step.padEnd(w)}  ${s.seconds.toFixed(1).padStart(6)}  ${s.result}`);
    return lines.join('\n');
  }
}
