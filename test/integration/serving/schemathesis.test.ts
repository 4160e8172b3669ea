import { schemathesisSuite } from '../support/schemathesis-suite.js';

schemathesisSuite({
  api: 'recall',
  app: 'serve',
  redisDb: 15,
  portOffset: 16,
  url: (s) => s.recallUrl,
  key: (s) => s.recallKey,
  maxExamples: 200,
});
