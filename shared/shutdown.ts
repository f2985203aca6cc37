/**
 * Graceful shutdown for every process: on SIGTERM/SIGINT run the steps in order (HTTP server,
 * workers, queues, Redis), bounded by a timeout, then exit. A signal repeated within
 * FORCE_GRACE_MS of the first is the same stop delivered again (a terminal's Ctrl-C reaches npm,
 * tsx and node at once, and npm and tsx each relay it; `kill` of a process group likewise): the
 * drain goes on. A signal after the grace forces an exit at once (exit 1).
 * Returns the same stop for other reasons to end the process (e.g. a dependency gave up), with
 * the exit code to use once stopped.
 */
import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  run(): Promise<unknown> | unknown;
}

/** A second signal forces an exit only this long after the first, ms. */
export const FORCE_GRACE_MS = 1000;

export function onShutdown(
  logger: Logger,
  steps: ShutdownStep[],
  timeoutMs = 15_000,
  forceGraceMs = FORCE_GRACE_MS,
): (reason: string, exitCode?: number) => Promise<void> {
  let stoppingSince: number | undefined;
  const stop = async (signal: string, exitCode = 0) => {
    if (stoppingSince !== undefined) {
      const afterMs = Date.now() - stoppingSince;
      if (afterMs < forceGraceMs) {
        logger.debug(
          { signal, afterMs, forceGraceMs },
          'signal repeated within the grace (relayed by npm/tsx or the terminal): still draining',
        );
        return;
      }
      logger.warn({ signal, afterMs }, 'second signal: exiting now, without finishing the drain');
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal, timeoutMs, forceGraceMs }, 'shutting down: draining; press Ctrl-C again to force');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        logger.warn({ step: step.name, err: (err as Error).message }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    logger.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return stop;
}
