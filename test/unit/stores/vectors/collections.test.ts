import { describe, expect, it } from 'vitest';
import { checkVersionKey, collectionOf, versionOf } from '../../../../stores/vectors/collections.js';

describe('item vector collection names', () => {
  it('names a version after the alias and maps the name back to the version', () => {
    expect(collectionOf('towerflow_items', 'v20240131-030405-2')).toBe('towerflow_items_v20240131_030405_2');
    expect(versionOf('towerflow_items', 'towerflow_items_v20240131_030405_2')).toBe('v20240131-030405-2');
  });

  it('does not claim collections of another alias, or the alias itself', () => {
    expect(versionOf('towerflow_items', 'other_v20240131_030405')).toBeUndefined();
    expect(versionOf('towerflow_items', 'towerflow_items')).toBeUndefined();
    expect(versionOf('towerflow_items', 'towerflow_items__x')).toBeUndefined();
  });

  it('refuses version keys that would not map back to themselves', () => {
    expect(checkVersionKey('corpus')).toBe('corpus');
    expect(() => checkVersionKey('a_b')).toThrow(/not a version key/);
    expect(() => checkVersionKey('-a')).toThrow(/not a version key/);
    expect(() => checkVersionKey('a b')).toThrow(/not a version key/);
  });
});
