import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../config/index.js';
import { relativeImports, sourceFiles } from './imports.js';
import { KNOWN_EXCEPTIONS, ROOMS, violation } from './rules.js';

// The dependency rule of the layout (README "Layout"): rooms import only downwards, processes never
// each other, store roles share only their keys. Pure: reads the source, starts nothing.
const root = projectRoot();
const rooms = sourceFiles(root);
const edges = [...rooms.values()].flat().flatMap((f) => relativeImports(root, f));
const isKnown = (e: { from: string; to: string }) =>
  KNOWN_EXCEPTIONS.some((k) => k.from === e.from && k.to === e.to);

function tsconfigInclude(file: string): string[] {
  const { config, error } = ts.readConfigFile(path.join(root, file), ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return config.include as string[];
}

/** The processes, which reach Redis only through the stores and versions that own its keys. */
const PROCESSES = ['ingest', 'streams', 'batch', 'serving'];

/** Where a file spells a Redis key (`tf:…` in a string, or a call of redisKey), as `file:line`. */
function redisKeysIn(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const at = (n: ts.Node) => `${file}:${src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (
      (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n)) &&
      n.text.startsWith('tf:')
    )
      out.push(at(n));
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'redisKey')
      out.push(at(n));
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

describe('the dependency rule', () => {
  it('reads the imports of every room (the scan is not empty)', () => {
    expect([...rooms.keys()]).toContain('streams');
    expect(edges.some((e) => e.from === 'streams/index.ts' && e.to === 'streams/runtime.ts')).toBe(true);
  });

  it('every folder with code is a room of the table', () => {
    expect([...rooms.keys()].filter((r) => !ROOMS[r])).toEqual([]);
  });

  it('every room is type-checked: in the include of tsconfig.json and tsconfig.test.json', () => {
    for (const file of ['tsconfig.json', 'tsconfig.test.json']) {
      const include = tsconfigInclude(file);
      expect({ file, missing: Object.keys(ROOMS).filter((r) => !include.includes(r)) }).toEqual({
        file,
        missing: [],
      });
    }
  });

  it('every import points down the table', () => {
    const broken = edges.filter((e) => !isKnown(e)).flatMap((e) => violation(e) ?? []);
    expect(broken).toEqual([]);
  });

  it('no process spells a Redis key: the keys live in stores/ and versions/', () => {
    expect(PROCESSES.flatMap((r) => rooms.get(r) ?? []).flatMap(redisKeysIn)).toEqual([]);
    // the check sees a key where one is spelled
    expect(redisKeysIn('versions/lock.ts')).toHaveLength(1);
    expect(redisKeysIn('versions/registry.ts').length).toBeGreaterThan(0);
  });

  it('the known exceptions still occur and still break the rule (fixed ones leave the list)', () => {
    const stale = KNOWN_EXCEPTIONS.filter(
      (k) => !edges.some((e) => isKnown(e) && e.from === k.from && violation(e)),
    );
    expect(stale).toEqual([]);
  });
});

describe('violation', () => {
  const edge = (from: string, to: string, typeOnly = false) => ({ from, to, typeOnly });

  it('names a process importing another, with what it may import', () => {
    expect(violation(edge('streams/processors/items.ts', 'batch/publish.ts'))).toBe(
      'streams/processors/items.ts imports batch/publish.ts: streams (a process) may import only versions, model, stores, clients, schemas, config, runtime',
    );
  });

  it('lets entry points import anything and every room import below itself', () => {
    expect(violation(edge('cli/main.ts', 'serving/main.ts'))).toBeUndefined();
    expect(violation(edge('serving/recall.ts', 'versions/live-models.ts'))).toBeUndefined();
    expect(violation(edge('runtime/logger.ts', 'config/index.ts'))).toBeUndefined();
    expect(violation(edge('config/index.ts', 'runtime/logger.ts'))).toMatch(
      /config \(settings\) may import nothing/,
    );
    expect(violation(edge('clients/redis.ts', 'stores/order.ts'))).toMatch(/clients \(wire clients\)/);
  });

  it('lets infra import of the processes only the file it launches them by', () => {
    expect(violation(edge('infra/local/apps.ts', 'streams/runtime.ts'))).toBeUndefined();
    expect(violation(edge('infra/local/apps.ts', 'streams/index.ts'))).toMatch(
      /infra \(local provisioning\) may import only .*, and of the processes streams\/runtime\.ts$/,
    );
  });

  it('lets model import stores for types only', () => {
    expect(violation(edge('model/data/profiles.ts', 'stores/profiles/index.ts', true))).toBeUndefined();
    expect(violation(edge('model/data/profiles.ts', 'stores/profiles/index.ts'))).toMatch(
      / as a value: model/,
    );
  });

  it('lets a store role import of another role only its keys, and the shared stores files', () => {
    expect(violation(edge('stores/sequence/redis.ts', 'stores/embeddings/keys.ts'))).toBeUndefined();
    expect(violation(edge('stores/history/hbase.ts', 'stores/order.ts'))).toBeUndefined();
    expect(violation(edge('stores/history/hbase.ts', 'stores/history/rowkey.ts'))).toBeUndefined();
    expect(violation(edge('stores/history/hbase.ts', 'stores/profiles/hbase.ts'))).toMatch(
      /a store role may import from another role only its keys\.ts/,
    );
    expect(violation(edge('stores/order.ts', 'stores/profiles/hbase.ts'))).toMatch(/only its keys\.ts/);
  });

  it('names a file outside every room', () => {
    expect(violation(edge('newroom/x.ts', 'config/index.ts'))).toMatch(/add newroom to ROOMS/);
  });
});
