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

/** The coordination's scripts, each loaded once, from beside this file (in the sources and in `dist/`: package.json's build copies them). */
export const coordinationScripts = new ScriptLoader(path.join(__dirname, 'lua'));

/** The script `name` (a path under `coordination/lua/` without `.lua`, e.g. `cloud-limiter/reserve`) taking `keys` keys. */
export const loadScript = (name: string, keys: KeyCount): RedisScript => coordinationScripts.load(name, keys);
