/**
 * The Lua script loader: one `.lua` file per script under a root of its own, loaded once when the
 * owning module is imported, and run by SHA1. Each owner of Redis state has its root and its
 * loader: the stores' scripts under `store/lua/` (store/redis-script.ts), the coordination's
 * (leases, limiter) under `coordination/lua/` (coordination/redis-script.ts); a script lives in
 * the folder of its owner (e.g. `store/lua/conversation/finish.lua`), and includes resolve inside
 * the file tree, so each root keeps its own `includes/`.
 *
 * The idea is BullMQ's (taskforcesh/bullmq `src/commands/script-loader.ts` and
 * `src/commands/*.lua`, read 2026-12-02 at 352d3c7): a line `--- @include "<path>"` is replaced by
 * that file (the path relative to the including file, `.lua` optional), includes may include, a
 * file is emitted once per script however often it is included, and a cycle or a missing file
 * is an error at load. Unlike BullMQ the number of keys is not in the file name: the loader is
 * told it ({@link ScriptLoader.load}), every file's header comment names each KEYS and ARGV entry and
 * what it returns, and test/unit/store/lua-scripts.test.ts checks that the two agree.
 *
 * Every key a script touches is one of its KEYS (Redis Cluster refuses undeclared keys); a key
 * known only from data the script reads is handed in by the caller after the script answered
 * which one it needs (conversation/finish.lua, run/fill.lua).
 *
 * Run by EVALSHA, loaded with EVAL the first time a server does not know it (NOSCRIPT: a new or
 * restarted server). Sending the body on every call, as plain EVAL does, costs Redis a hash of
 * the body per call and the network its bytes.
 *
 * Not `redis.defineCommand`: every command defined on a connection is copied into each
 * Pipeline/MULTI that connection builds, and BullMQ builds them on the same connections.
 *
 * @example
 * const scripts = new ScriptLoader(path.join(__dirname, 'lua')); // package.json's build copies the root to dist/
 * const FINISH = scripts.load('conversation/finish', 4);
 * await FINISH.run(redis, keys, args);
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

/** How many keys a script takes: a fixed count, or any number (its header says how they repeat). */
export type KeyCount = number | 'variadic';

const INCLUDE = /^-{2,3}[ \t]*@include[ \t]+(["'])(.+?)\1[ \t;]*$/gm;

export class LuaLoadError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(`${message} (in ${file})`);
    this.name = 'LuaLoadError';
  }
}

/** A file without the `--[[ … ]]` header it starts with. */
export const stripHeader = (text: string): string => text.replace(/^--\[\[[\s\S]*?\]\]\n?/, '');

const withExt = (p: string) => (p.endsWith('.lua') ? p : `${p}.lua`);

/**
 * The source of `file` with its includes in place, each file once (a later include of one already
 * emitted becomes nothing). `stack` is the chain of files being expanded (a cycle is an error).
 */
function expand(file: string, emitted: Set<string>, stack: string[]): string {
  if (stack.includes(file)) throw new LuaLoadError(`circular include: ${[...stack, file].map((f) => path.basename(f)).join(' → ')}`, file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new LuaLoadError(`Lua file not found: ${file}`, stack.at(-1) ?? file);
  }
  emitted.add(file);
  // The header is for the reader: Redis gets the code (smaller script cache, nothing to parse).
  return stripHeader(text).replace(INCLUDE, (_line, _q, ref: string) => {
    const target = path.resolve(path.dirname(file), withExt(ref));
    if (stack.includes(target) || target === file) throw new LuaLoadError(`circular include: "${ref}"`, file);
    if (emitted.has(target)) return '';
    return expand(target, emitted, [...stack, file]).trimEnd();
  });
}

/** A script's full source (includes resolved) and the files it was built from (the first is its own), from the root `dir`. */
export function readScript(name: string, dir: string): { source: string; files: string[] } {
  const emitted = new Set<string>();
  const source = expand(path.join(dir, withExt(name)), emitted, []);
  return { source, files: [...emitted] };
}

/** The scripts under one root, each loaded once per process. */
export class ScriptLoader {
  /** Every script loaded so far, by name. */
  readonly loaded = new Map<string, RedisScript>();

  /** @param dir the root: beside its owner, in the sources and in `dist/` (package.json's build copies it). */
  constructor(readonly dir: string) {}

  /**
   * The script `name` (a path under the root without `.lua`, e.g. `conversation/finish`) taking
   * `keys` keys. Loaded once: a second call answers the same script.
   */
  load(name: string, keys: KeyCount): RedisScript {
    const known = this.loaded.get(name);
    if (known) {
      if (known.keys !== keys)
        throw new LuaLoadError(`script loaded with ${known.keys} keys and now ${keys}`, path.join(this.dir, withExt(name)));
      return known;
    }
    const script = new RedisScript(readScript(name, this.dir).source, keys, name);
    this.loaded.set(name, script);
    return script;
  }
}

/**
 * Lua run before every script, '' in production. A test sets it to check what each script does
 * while the stores run as usual (test/integration/store/declared-keys.test.ts: every key a script
 * touches is one of its KEYS).
 */
let prelude = '';

/** Sets the Lua every script runs after ({@link prelude}); '' restores the scripts as they are. */
export function setScriptPrelude(lua: string): void {
  prelude = lua;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

export class RedisScript {
  readonly sha: string;
  /** The source with the current prelude, and its SHA1, for the prelude it was made with. */
  private preluded?: { prelude: string; source: string; sha: string };

  constructor(
    readonly source: string,
    readonly keys: KeyCount = 'variadic',
    readonly name = 'inline',
  ) {
    this.sha = sha1(source);
  }

  /** What is sent to Redis: the source, after the prelude when one is set. */
  private body(): { source: string; sha: string } {
    if (!prelude) return this;
    if (this.preluded?.prelude !== prelude) {
      const source = `${prelude}\n${this.source}`;
      this.preluded = { prelude, source, sha: sha1(source) };
    }
    return this.preluded;
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (this.keys !== 'variadic' && keys.length !== this.keys)
      throw new Error(`Lua script ${this.name} takes ${this.keys} keys, was given ${keys.length}`);
    const { source, sha } = this.body();
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  }
}
