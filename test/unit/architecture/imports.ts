import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { Edge } from './rules.js';

/** Top-level folders that hold no source of the project (tests are not a room: they may import anything). */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'coverage', 'test']);
/** Generated code, not written by hand (clients/hbase/gen: the Thrift stubs). */
const GENERATED = new Set(['clients/hbase/gen']);

function tsFilesUnder(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (!GENERATED.has(rel) && e.name !== 'node_modules') out.push(...tsFilesUnder(root, rel));
    } else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Every hand-written .ts file of the top-level folders, by folder (the rooms), from the project root. */
export function sourceFiles(root: string): Map<string, string[]> {
  const rooms = new Map<string, string[]>();
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.') || NOT_SOURCE.has(e.name)) continue;
    const files = tsFilesUnder(root, e.name);
    if (files.length > 0) rooms.set(e.name, files.sort());
  }
  return rooms;
}

// `import {} from` still runs the module: only a non-empty list of type-only names crosses nothing
const allTypes = (names: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>): boolean =>
  names.length > 0 && names.every((n) => n.isTypeOnly);

/**
 * The relative imports of one file: static `import … from`, `export … from`, dynamic `import()`
 * and `import('…')` types, each marked whether only types cross. Parsed, so commented-out
 * imports and strings that look like one do not count.
 */
export function relativeImports(root: string, file: string): Edge[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (spec: ts.Node | undefined, typeOnly: boolean) => {
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) return;
    const to = path.posix
      .normalize(path.posix.join(path.posix.dirname(file), spec.text))
      .replace(/\.js$/, '.ts');
    edges.push({ from: file, to, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings : undefined;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly || (c.name === undefined && named !== undefined && allTypes(named.elements)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause : undefined;
      add(node.moduleSpecifier, node.isTypeOnly || (named !== undefined && allTypes(named.elements)));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}
