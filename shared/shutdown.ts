/**
 * Graceful shutdown for every process: on SIGTERM/SIGINT run the steps in order (HTTP server,
 * workers, queues, Redis), bounded by a timeout, then exit. A second signal exits at once.
 * Returns the same stop for other reasons to end the process (e.g. a dependency gave up), with
 * the exit code to use once stopped.
 */
import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  run(): Promise<unknown> | unknown;
}

export function onShutdown(
  logger: Logger,
  steps: ShutdownStep[],
  timeoutMs = 15_000,
): (reason: string, exitCode?: number) => Promise<void> {
  let stopping = false;
  const stop = async (signal: string, exitCode = 0) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'shutting down');
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
