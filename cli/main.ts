import { describeFailure } from './failure.js';

// `towerflow … | head` closes the pipe early: that is the reader's choice, not a failure
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// The commands load inside the try, so a failure while loading them (e.g. generated stubs
// missing) is reported like any other.
try {
  const { buildProgram } = await import('./program.js');
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  const f = describeFailure(e);
  process.stderr.write(f.text);
  // exit now: clients opened before the failure may hold the event loop open
  process.exit(f.exitCode);
}
