/**
 * docs/architecture.md's folder table is the import order: it names every folder with code once,
 * and every import between folders points down the table, but the exceptions the page names.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../helpers/markdown';

/** The upward imports the page explains ("Folders"): importing file → imported folder. */
const EXCEPTIONS = [
  ['conversation/conversation-request.ts', 'transcript'],
  ['conversation/fork-rules.ts', 'transcript'],
  ['conversation/turn-rules.ts', 'providers'],
  ['bench/export-speed.ts', 'test'],
  ['bench/export-parquet.ts', 'test'],
  ['bench/cluster-rig.ts', 'test'],
] as const;

const SKIP = new Set(['node_modules', 'dist', 'docs', 'deploy', 'examples']);

function codeFolders(): string[] {
  return fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name))
    .map((e) => e.name)
    .filter((d) => filesOf(d).length > 0)
    .sort();
}

function filesOf(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!['node_modules', '.build', 'results'].includes(e.name)) walk(rel);
      } else if (/\.(ts|js)$/.test(e.name)) out.push(rel);
    }
  };
  walk(folder);
  return out;
}

/** Every import of another top-level folder: [importing file, imported folder]. */
function crossImports(folders: string[]): [string, string][] {
  const edges: [string, string][] = [];
  for (const folder of folders) {
    for (const file of filesOf(folder)) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1]!)).split(path.sep)[0]!;
        if (target !== folder && folders.includes(target)) edges.push([file, target]);
      }
    }
  }
  return edges;
}

/** The folder table's rows, top to bottom. */
function tableOrder(doc: string): string[] {
  return [...doc.matchAll(/^\| `([\w.-]+)\/` \|/gm)].map((m) => m[1]!);
}

/** The imports that point up the table (or leave it), but the exceptions. */
function upward(order: string[], edges: [string, string][]): string[] {
  const at = new Map(order.map((f, i) => [f, i]));
  return edges
    .filter(([file, to]) => !EXCEPTIONS.some(([f, t]) => f === file && t === to))
    .filter(([file, to]) => !((at.get(file.split('/')[0]!) ?? Infinity) < (at.get(to) ?? -1)))
    .map(([file, to]) => `${file} → ${to}/`);
}

describe('docs/architecture.md: the folder table is the import order', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  const order = tableOrder(doc);

  it('one table: every folder with code once', () => {
    assert.equal(doc.match(/^\| folder \|/gm)?.length, 1, 'one folder table');
    assert.deepEqual(
      order.filter((f, i) => order.indexOf(f) !== i),
      [],
      'no folder twice',
    );
    assert.deepEqual([...order].sort(), codeFolders());
  });

  it('every import points down the table, but the exceptions the page names', () => {
    const edges = crossImports(codeFolders());
    assert.ok(edges.length > 100, 'the imports were read');
    assert.deepEqual(upward(order, edges), []);
    for (const [file] of EXCEPTIONS) assert.ok(doc.includes(`\`${file}\``), `the page names the exception ${file}`);
  });

  it('finds an import that points up the table', () => {
    assert.deepEqual(upward(['producer', 'store'], [['store/x.ts', 'producer']]), ['store/x.ts → producer/']);
    assert.deepEqual(upward(['producer', 'store'], [['producer/x.ts', 'store']]), []);
    assert.deepEqual(upward(['producer'], [['producer/x.ts', 'unlisted']]), ['producer/x.ts → unlisted/']);
  });
});
