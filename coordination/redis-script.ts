/**
 * The coordination's Lua scripts (fleet-wide slot leases, the cloud limiter): one file each under
 * `coordination/lua/<owner>/`, shared fragments in `coordination/lua/includes/`, loaded by the
 * loader of shared/redis-script.ts.
 *
 * @example
 * const ACQUIRE = loadScript('slot-leases/acquire', 'variadic');
 */
import path from 'node:path';
import { type KeyCount, type RedisScript, ScriptLoader } from '../shared/redis-script';

/** Where the coordination's scripts live: beside this file, in the sources and in `dist/` (package.json's build copies them). */
export const LUA_DIR = path.join(__dirname, 'lua');

/** The coordination's scripts, each loaded once. */
export const coordinationScripts = new ScriptLoader(LUA_DIR);

/** The script `name` (a path under `coordination/lua/` without `.lua`, e.g. `cloud-limiter/reserve`) taking `keys` keys. */
export const loadScript = (name: string, keys: KeyCount): RedisScript => coordinationScripts.load(name, keys);
