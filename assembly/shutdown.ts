/**
 * The one way a process built by the assembly stops: every part that opens something registers how
 * to close it right after opening it, and `close()` runs those steps in reverse (the last opened is
 * the first closed: the HTTP server before the queues, the queues before their connection), once —
 * a second call gets the same promise. A step that throws is logged and the next one still runs; a
 * step may be bounded (with Redis gone a QUIT or a worker's close could wait forever).
 *
 * @example
 * const stop = new Shutdown({ logger, boundMs: 1000 });
 * const conn = await openRedis('worker', url, { stop });   // registers its own close
 * stop.add('workers', () => workers.close(3000), 4000);   // a longer bound for this step
 * await stop.close();
 */
import type { Logger } from '../shared/logger';
import { onShutdown } from '../shared/shutdown';

export interface ShutdownOptions {
  /** Where a failed or slow step is reported. Default: nowhere (the step is still skipped past). */
  logger?: Logger;
  /** Bound of a step that names none, ms. Default: none (each step runs to its end). */
  boundMs?: number;
}

interface Step {
  name: string;
  run(): unknown;
  boundMs?: number;
}

export class Shutdown {
  private readonly steps: Step[] = [];
  private closing?: Promise<void>;

  constructor(private readonly opts: ShutdownOptions = {}) {}

  /** Registers how to close what was just opened; it runs before everything registered earlier. */
  add(name: string, run: () => unknown, boundMs?: number): void {
    if (this.closing) throw new Error(`"${name}" was opened after the shutdown began`);
    this.steps.push({ name, run, boundMs: boundMs ?? this.opts.boundMs });
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Runs every step, last registered first, once. */
  close(): Promise<void> {
    this.closing ??= this.runAll();
    return this.closing;
  }

  private async runAll(): Promise<void> {
    for (const step of this.steps.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const done = Promise.resolve().then(() => step.run());
        const slow =
          step.boundMs === undefined
            ? await done.then(() => false)
            : await Promise.race([done.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), step.boundMs)))]);
        if (slow) this.opts.logger?.warn({ step: step.name, boundMs: step.boundMs }, 'a shutdown step did not finish in time; moving on');
      } catch (err) {
        this.opts.logger?.warn({ step: step.name, err: (err as Error).message }, 'error while stopping');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/**
 * Ends the process through `stop` on SIGTERM/SIGINT (shared/shutdown.ts: bounded by `timeoutMs`;
 * a signal repeated within FORCE_GRACE_MS is the same stop relayed, one after it forces); returns the same stop for other reasons, with an exit code.
 */
export function stopOnSignals(
  logger: Logger,
  stop: { close(): Promise<void> },
  timeoutMs?: number,
): (reason: string, exitCode?: number) => Promise<void> {
  return onShutdown(logger, [{ name: 'shutdown', run: () => stop.close() }], timeoutMs);
}
