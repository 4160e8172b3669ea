import { schemathesisSuite } from '../support/schemathesis-suite.js';

schemathesisSuite({
  api: 'ingest',
  app: 'ingest',
  redisDb: 14,
  portOffset: 15,
  url: (s) => s.ingestUrl,
  key: (s) => s.apiKey,
  maxExamples: 60,
});
