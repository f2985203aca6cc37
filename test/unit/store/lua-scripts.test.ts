import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Every module that loads scripts, so the loaders hold them all.
import '../../../coordination/cloud-limiter';
import '../../../coordination/slot-leases';
import '../../../store/budget-store';
import '../../../store/conversation-store';
import '../../../store/judge-store';
import '../../../store/model-quirks';
import '../../../store/run-store';
import { coordinationScripts } from '../../../coordination/redis-script';
import { readScript, stripHeader } from '../../../shared/redis-script';
import { loadScript, storeScripts } from '../../../store/redis-script';

const ROOT = path.join(__dirname, '../../..');
const walk = (dir: string, ext: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory())
      return ['node_modules', 'dist', '.git', '.tmp', 'lambda/.build'].includes(e.name) || e.name.startsWith('.scratch')
        ? []
        : walk(p, ext);
    return e.name.endsWith(ext) ? [p] : [];
  });
// Each root of scripts with its loader: the stores' and the coordination's (shared/redis-script.ts).
const ROOTS = [storeScripts, coordinationScripts];
const rootOf = (file: string) => ROOTS.find((r) => file.startsWith(r.dir + path.sep))!;
const luaFiles = ROOTS.flatMap((r) => walk(r.dir, '.lua'));
/** A file's script name under its root (what its loader is called with). */
const scriptName = (file: string) =>
  path
    .relative(rootOf(file).dir, file)
    .replace(/\.lua$/, '')
    .split(path.sep)
    .join('/');
/** Where a file is shown: its path from the repository's root. */
const shown = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');
const isInclude = (file: string) => /(^|\/)includes\//.test(scriptName(file));
/** Every loaded script, of both roots. */
const loadedScripts = ROOTS.flatMap((r) => [...r.loaded.values()]);

/** The header comment: the `--[[ … ]]` block the file starts with. */
function header(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const m = /^--\[\[\n([\s\S]*?)\n\]\]/.exec(text);
  assert.ok(m, `${scriptName(file)}.lua starts with a --[[ … ]] header naming its KEYS, ARGV and what it returns`);
  return m[1]!;
}
/** The indices a header names, e.g. KEYS[1], KEYS[2i-1], ARGV[4..], ARGV[4+nc..3+nc+ns]. */
const indices = (h: string, what: 'KEYS' | 'ARGV') =>
  [...h.matchAll(new RegExp(`^\\s*${what}\\[([^\\]]+)\\]\\s+\\S`, 'gm'))].map((m) => m[1]!);
/** The literal indices a source uses, e.g. KEYS[3]. */
const used = (src: string, what: 'KEYS' | 'ARGV') =>
  [...src.replace(/--\[\[[\s\S]*?\]\]/g, '').matchAll(new RegExp(`\\b${what}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1]));

describe('Lua scripts (store/lua/, coordination/lua/)', () => {
  it('every script file is loaded by its owner, and every loaded script has its file', () => {
    let found = 0;
    for (const root of ROOTS) {
      const files = luaFiles
        .filter((f) => !isInclude(f) && rootOf(f) === root)
        .map(scriptName)
        .sort();
      found += files.length;
      assert.deepEqual([...root.loaded.keys()].sort(), files, root.dir);
    }
    assert.ok(found >= 20, `found ${found} scripts`);
  });

  for (const file of luaFiles.filter((f) => !isInclude(f))) {
    const name = scriptName(file);
    it(`${shown(file)}: its header names the keys the loader declares, its ARGV and what it returns`, () => {
      const h = header(file);
      const script = rootOf(file).loaded.get(name)!;
      const keys = indices(h, 'KEYS');
      const source = script.source;
      if (script.keys === 'variadic') {
        assert.ok(
          keys.some((k) => !/^\d+$/.test(k)),
          `${name} takes any number of keys: its header says how they repeat (e.g. KEYS[i])`,
        );
      } else {
        const want = Array.from({ length: script.keys }, (_, i) => String(i + 1));
        assert.deepEqual(
          keys,
          want,
          `${name} is loaded with ${script.keys} keys: its header names KEYS[1] … KEYS[${script.keys}], in order`,
        );
        for (const k of used(source, 'KEYS')) assert.ok(k <= script.keys, `${name} uses KEYS[${k}], beyond the ${script.keys} declared`);
      }
      const argv = indices(h, 'ARGV');
      assert.ok(argv.length > 0 || /^\s*ARGV none\b/m.test(h), `${name}: the header names its ARGV (or says "ARGV none")`);
      const numbered = argv.filter((a) => /^\d+$/.test(a)).map(Number);
      const open = argv.some((a) => !/^\d+$/.test(a));
      if (!open)
        for (const a of used(source, 'ARGV')) assert.ok(numbered.includes(a), `${name} uses ARGV[${a}], which its header does not name`);
      assert.match(h, /^\s*Returns\b/m, `${name}: the header says what it returns`);
    });
  }

  it('includes resolve: no @include line is left, each include is emitted once, and each include has a header', () => {
    let included = 0;
    for (const root of ROOTS)
      for (const script of root.loaded.values()) {
        assert.doesNotMatch(script.source, /@include/, script.name);
        for (const inc of luaFiles.filter((f) => isInclude(f) && rootOf(f) === root)) {
          const body = stripHeader(fs.readFileSync(inc, 'utf8')).trimEnd();
          const times = script.source.split(body).length - 1;
          assert.ok(times <= 1, `${scriptName(inc)} is emitted once in ${script.name}, not ${times} times`);
          if (times) included++;
        }
      }
    assert.ok(included >= 15, `includes found in the scripts: ${included}`);
    for (const inc of luaFiles.filter(isInclude)) {
      const h = header(inc);
      assert.match(h, /^\s*Uses\b/m, `${scriptName(inc)}: the header says which KEYS/ARGV it uses`);
      assert.match(h, /Returns\b/, `${scriptName(inc)}: the header says what it returns`);
    }
  });

  it('no store script builds a key name (every key it touches is one of its KEYS)', () => {
    for (const script of loadedScripts) {
      // A key argument made by concatenation, e.g. redis.call('HINCRBY', ARGV[6] .. ':run:' .. run, …).
      const built = /redis\.p?call\(\s*'\w+'\s*,\s*[^,)]*\.\./.exec(script.source);
      assert.equal(built, null, `${script.name} builds a key name: ${built?.[0]}`);
      assert.doesNotMatch(script.source, /ARGV\[\d+\]\s*\.\.\s*':/, `${script.name} builds a key from a prefix`);
    }
  });

  it("each store's keys are touched by its own code only: another store's scripts reach them through its fragments (store/lua/<owner>/includes/)", () => {
    // A key that belongs to another store, known by how script headers name it, and its owner (the folder under store/lua/).
    const FOREIGN: [RegExp, string][] = [
      [/\brun(?:'s)? hash\b/, 'run'],
      [/\b(?:the )?conversation(?:'s)? hash\b|\b(?:the conversation's )?steps hash\b/, 'conversation'],
      [/\bowner's (?:caller hash|latest list|runs index)\b/, 'caller'],
    ];
    const ownerOf = (file: string) => scriptName(file).split('/')[0]!;
    /** The functions the owner's fragments define (store/lua/<owner>/includes/*.lua). */
    const fragmentFunctions = (owner: string) =>
      luaFiles
        .filter((f) => rootOf(f) === storeScripts && scriptName(f).startsWith(`${owner}/includes/`))
        .flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/^local function (\w+)\(/gm)].map((m) => m[1]!));
    /** The function whose argument list holds position `at` of `src` ('' when none). */
    const enclosingCall = (src: string, at: number) => {
      let depth = 0;
      for (let i = at - 1; i >= 0; i--) {
        if (src[i] === ')') depth++;
        else if (src[i] === '(' && depth-- === 0) return /(\w+)\s*$/.exec(src.slice(0, i))?.[1] ?? '';
      }
      return '';
    };
    const reached = new Set<string>();
    for (const file of luaFiles.filter((f) => !isInclude(f) && rootOf(f) === storeScripts)) {
      const own = fs.readFileSync(file, 'utf8').replace(/^--\[\[[\s\S]*?\]\]/, '');
      for (const m of header(file).matchAll(/^\s*KEYS\[(\d+)\]\s+(.*)$/gm)) {
        const owner = FOREIGN.find(([re]) => re.test(m[2]!))?.[1];
        if (!owner || owner === ownerOf(file)) continue;
        reached.add(`${scriptName(file)} KEYS[${m[1]}] → ${owner}`);
        assert.match(own, new RegExp(`@include "\\.\\./${owner}/includes/`), `${scriptName(file)} includes the ${owner} store's fragment`);
        const fns = fragmentFunctions(owner);
        for (const use of own.matchAll(new RegExp(`KEYS\\[${m[1]}\\]`, 'g'))) {
          const fn = enclosingCall(own, use.index);
          assert.ok(
            fns.includes(fn),
            `${scriptName(file)} uses KEYS[${m[1]}] (the ${owner} store's) outside the ${owner} store's fragments (${fns.join(', ')}): in ${fn || 'no call'}`,
          );
        }
      }
    }
    assert.deepEqual([...reached].sort(), [
      'conversation/create-checked KEYS[6] → caller',
      'conversation/create-checked KEYS[7] → caller',
      'conversation/finish KEYS[3] → run',
      'conversation/finish KEYS[4] → caller',
      'conversation/fork KEYS[6] → caller',
      'conversation/fork KEYS[7] → caller',
      'conversation/record-step KEYS[3] → run',
      'judge/save KEYS[2] → run',
      'run/archived KEYS[12] → caller',
      'run/create KEYS[3] → caller',
      'run/create KEYS[4] → caller',
      'run/discard KEYS[5] → caller',
      'run/fill KEYS[7] → caller',
      'run/retry KEYS[5] → conversation',
      'run/retry KEYS[6] → conversation',
    ]);
  });

  it("a store's fragments touch only the keys they are handed (no KEYS of their own)", () => {
    const fragments = luaFiles.filter((f) => /^[\w-]+\/includes\//.test(scriptName(f)));
    assert.ok(fragments.length >= 6, `found ${fragments.length} store fragments`);
    for (const f of fragments) {
      const body = stripHeader(fs.readFileSync(f, 'utf8'));
      assert.doesNotMatch(body, /\bKEYS\b|\bARGV\b/, `${scriptName(f)} reads KEYS/ARGV itself`);
    }
  });

  it('no TypeScript file holds Lua source', () => {
    const lua = /\bKEYS\[\d|\bARGV\[\d|redis\.p?call\(\s*'[A-Z]+'\s*,\s*(KEYS|ARGV)/;
    const self = path.join(__dirname, 'lua-scripts.test.ts');
    const holders = walk(ROOT, '.ts').filter((f) => f !== self && lua.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(
      holders.map((f) => path.relative(ROOT, f)),
      [],
    );
  });

  it('the loader: a script is loaded once, an include once per script however often it is included, a cycle or a missing file is an error', () => {
    assert.equal(loadScript('conversation/finish', 5), loadScript('conversation/finish', 5));
    assert.throws(() => loadScript('conversation/finish', 4), /loaded with 5 keys/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lua-loader-'));
    try {
      fs.mkdirSync(path.join(dir, 'inc'));
      fs.writeFileSync(path.join(dir, 'inc', 'a.lua'), '--- @include "b"\nlocal a = 1\n');
      fs.writeFileSync(path.join(dir, 'inc', 'b.lua'), 'local b = 2\n');
      fs.writeFileSync(path.join(dir, 'main.lua'), '--- @include "inc/a"\n--- @include "inc/b.lua"\nreturn a + b\n');
      const { source, files } = readScript('main', dir);
      assert.equal(source, 'local b = 2\nlocal a = 1\n\nreturn a + b\n');
      fs.writeFileSync(path.join(dir, 'headed.lua'), '--[[\n  KEYS[1] x\n]]\n--- @include "inc/b"\nreturn b\n');
      assert.equal(readScript('headed', dir).source, 'local b = 2\nreturn b\n', 'headers are left out of what Redis gets');
      assert.deepEqual(
        files.map((f) => path.relative(dir, f)),
        ['main.lua', path.join('inc', 'a.lua'), path.join('inc', 'b.lua')],
      );
      fs.writeFileSync(path.join(dir, 'inc', 'b.lua'), '--- @include "a"\n');
      assert.throws(() => readScript('main', dir), /circular include/);
      fs.writeFileSync(path.join(dir, 'missing.lua'), '--- @include "nowhere"\n');
      assert.throws(() => readScript('missing', dir), /Lua file not found: .*nowhere\.lua/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
