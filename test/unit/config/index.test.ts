import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, projectRoot, settingsMarkdown } from '../../../config/index.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const cfg = loadConfig({});
    expect(cfg.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(cfg.topicBehaviourPartitions).toBe(6);
    expect(cfg.bindHost).toBe('127.0.0.1');
  });
  it('reads overrides', () => {
    const cfg = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', MILVUS_ENGINE: 'lite', TOPIC_DLQ_PARTITIONS: '3' });
    expect(cfg.kafkaBrokers).toEqual(['a:1', 'b:2']);
    expect(cfg.milvusEngine).toBe('lite');
    expect(cfg.topicDlqPartitions).toBe(3);
  });
  it('names the variable on a bad value', () => {
    expect(() => loadConfig({ TOPIC_DLQ_PARTITIONS: 'three' })).toThrow(ConfigError);
    expect(() => loadConfig({ TOPIC_DLQ_PARTITIONS: 'three' })).toThrow(/TOPIC_DLQ_PARTITIONS/);
    expect(() => loadConfig({ MILVUS_ENGINE: 'docker' })).toThrow(/MILVUS_ENGINE must be one of/);
    // Redis refuses `SET … EX 0`: a TTL of 0 would fail every write, so it fails at start instead
    for (const v of ['PROFILE_CACHE_TTL_SECONDS', 'USER_VECTOR_TTL_SECONDS', 'SEQUENCE_TTL_SECONDS'])
      expect(() => loadConfig({ [v]: '0' })).toThrow(new RegExp(`${v} must be at least 1`));
    expect(loadConfig({ PROFILE_CACHE_TTL_SECONDS: '1' }).profileCacheTtlSeconds).toBe(1);
  });
  it('documents every variable', () => {
    expect(settingsMarkdown()).toContain('`KAFKA_BROKERS`');
  });
  it('docs/configuration.md carries the generated table as it is (`towerflow config --markdown`)', () => {
    const doc = readFileSync(path.join(projectRoot(), 'docs/configuration.md'), 'utf8');
    expect(doc).toContain(settingsMarkdown());
  });
});
