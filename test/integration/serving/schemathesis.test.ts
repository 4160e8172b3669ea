import { schemathesisSuite } from '../support/schemathesis-suite.js';

schemathesisSuite({
  api: 'recall',
  app: 'serve',
  redisDb: 15,
  portOffset: 16,
  url: (s) => s.recallUrl,
  key: (s) => s.recallKey,
  // the fuzzing phase stops early once it finds no new inputs: one run drew 193 requests from 200
  maxExamples: 500,
});
