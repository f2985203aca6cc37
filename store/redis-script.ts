/**
 * The stores' Lua scripts: one file each under `store/lua/<store>/`, shared fragments in
 * `store/lua/includes/` (and a store's own, e.g. `lua/run/includes/`), loaded by the loader of
 * shared/redis-script.ts.
 *
 * @example
 * const FINISH = loadScript('conversation/finish', 4);
 */
import path from 'node:path';
import { type KeyCount, type RedisScript, ScriptLoader } from '../shared/redis-script';

/** The stores' scripts, each loaded once, from beside this file (in the sources and in `dist/`: package.json's build copies them). */
export const storeScripts = new ScriptLoader(path.join(__dirname, 'lua'));

/** The store script `name` (a path under `store/lua/` without `.lua`, e.g. `conversation/finish`) taking `keys` keys. */
export const loadScript = (name: string, keys: KeyCount): RedisScript => storeScripts.load(name, keys);
