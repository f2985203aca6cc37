/**
 * One stack per embedded Redis data dir: a lock file (`llmconv.lock`, JSON with the owner's pid,
 * its redis-server's pid and the start time) taken with O_EXCL. A lock whose owner pid is gone is
 * stale and taken over; if that dead owner's redis-server is still running (the stack was
 * SIGKILLed and its child outlived it), it is stopped first, so two servers never write one AOF.
 *
 * @example
 * const lock = lockDataDir('/home/me/.local/state/llmconv/redis');
 * lock.setRedisPid(redis.process.pid);
 * lock.release();
 */
import fs from 'node:fs';
import path from 'node:path';
import { PipelineError } from '../shared/errors';

export const LOCK_FILE = 'llmconv.lock';

export interface LockOwner {
  pid: number;
  redisPid?: number;
  startedAt: string;
}

export interface DataDirLock {
  file: string;
  /** What the previous, dead owner left (when this lock took over a stale one). */
  tookOverFrom?: LockOwner;
  /** Records the redis-server's pid, so a later stack can stop it if this process is killed. */
  setRedisPid(pid: number | undefined): void;
  release(): void;
}

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Dirs this process holds: its own pid in a lock file is only stale when the dir is not here. */
const held = new Set<string>();

/** Whether `pid` is a redis-server (Linux /proc; elsewhere we cannot tell and leave it alone). */
function isRedisServer(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

async function stopOrphan(pid: number): Promise<void> {
  if (!pidAlive(pid) || !isRedisServer(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Creates `dir` if needed and locks it for this process. Throws a `data_dir_locked` error naming
 * the other process when a live one holds it.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, LOCK_FILE);
  let tookOverFrom: LockOwner | undefined;
  const me: LockOwner = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let tries = 0; ; tries++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify(me));
      fs.closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw err;
    }
    const owner = readOwner(file);
    // Our own pid in the file: another stack in this process holds it, or (not in `held`) a
    // previous life of a process with the same pid left it, as in a container where we are pid 1.
    const live = owner && (owner.pid === process.pid ? held.has(path.resolve(dir)) : pidAlive(owner.pid));
    if (owner && live) {
      throw new PipelineError(
        `the embedded Redis data dir ${dir} is in use by another llmconv stack (pid ${owner.pid}, started ${owner.startedAt}). ` +
          'Stop that one first, or give this one its own REDIS_DATA_DIR (or a REDIS_URL).',
        { code: 'data_dir_locked' },
      );
    }
    // Stale: its owner is gone (or the file is unreadable, e.g. half-written by a killed process).
    tookOverFrom = owner;
    if (owner?.redisPid) await stopOrphan(owner.redisPid);
    fs.rmSync(file, { force: true });
  }
  held.add(path.resolve(dir));
  const write = () => fs.writeFileSync(file, JSON.stringify(me), { mode: 0o600 });
  const release = () => {
    process.removeListener('exit', release);
    held.delete(path.resolve(dir));
    if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return {
    file,
    tookOverFrom,
    setRedisPid(pid) {
      me.redisPid = pid;
      write();
    },
    release,
  };
}
