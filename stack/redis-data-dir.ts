/**
 * Where `npm start`'s embedded Redis keeps its AOF when REDIS_DATA_DIR is unset: the user's
 * state directory (XDG Base Directory: `$XDG_STATE_HOME`, default `~/.local/state`), never the
 * repository, so it survives a new clone and is not committed by accident.
 */
import os from 'node:os';
import path from 'node:path';

/** `$XDG_STATE_HOME/llmconv/redis`, or `~/.local/state/llmconv/redis` (XDG_STATE_HOME must be absolute to count). */
export function defaultRedisDataDir(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const state = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(state, 'llmconv', 'redis');
}
