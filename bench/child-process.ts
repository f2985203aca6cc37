/**
 * Starts a TypeScript entry of the benchmark as a child Node process (`node --import tsx`) with an
 * IPC channel, and waits for typed messages from it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface BenchChild {
  process: ChildProcess;
  /** Sends a message to the child. */
  send(msg: object): void;
  /** Resolves with the next message of this `type` (rejects on an `error` message or exit). */
  next<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  /** Kills the child if it still runs. */
  kill(): void;
}

/** Forks `bench/<entry>` under tsx. `execArgv` may add e.g. `--cpu-prof`. */
export function forkBenchChild(entry: string, execArgv: string[] = []): BenchChild {
  const child = fork(path.join(__dirname, entry), [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (m: Record<string, unknown>) => {
    queue.push(m);
    wake?.();
  });
  child.on('exit', () => wake?.());
  return {
    process: child,
    send: (msg) => child.send(msg),
    async next<T>(type: string, timeoutMs = 60_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = queue.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) {
          const m = queue.splice(i, 1)[0]!;
          if (m.type === 'error') throw new Error(`${entry}: ${String(m.message)}`);
          return m as T;
        }
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${entry} exited (${child.exitCode ?? child.signalCode}) before sending "${type}"`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${entry}: no "${type}" message within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        wake = undefined;
      }
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
