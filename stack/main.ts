/**
 * `npm start`: the whole stack on one host. Prints its URLs and which backends are real or
 * emulated; stops cleanly on SIGINT/SIGTERM within SHUTDOWN_BOUND_MS, whether Redis is up or not.
 * The embedded Redis (no REDIS_URL) keeps its data in REDIS_DATA_DIR (default the user's state
 * dir), so a restart resumes unfinished conversations; it is supervised and restarted if it dies.
 */
import { ConfigError } from '../shared/errors';
import { startLocalStack, type LocalStack } from './local-stack';
import { describeStack } from './describe-stack';
import { SHUTDOWN_BOUND_MS, SHUTDOWN_GRACE_MS } from './shutdown-bounds';

async function main() {
  let stack: LocalStack | undefined;
  let stopping = false;
  const stop = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    stack?.logger.info({ signal, boundMs: SHUTDOWN_BOUND_MS }, 'shutting down');
    const timer = setTimeout(() => {
      stack?.logger.error({ boundMs: SHUTDOWN_BOUND_MS }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_BOUND_MS).unref();
    await stack?.close();
    clearTimeout(timer);
    process.exit(code);
  };
  stack = await startLocalStack({
    embeddedData: 'persistent',
    closeGraceMs: SHUTDOWN_GRACE_MS,
    onRedisGaveUp: (err, tail) => {
      stack?.logger.fatal({ err: err.message }, 'embedded redis-server keeps dying; giving up');
      process.stderr.write(`\nembedded redis-server keeps dying (${err.message}); its last log lines:\n${tail}\n\n`);
      void stop('redis-gave-up', 1);
    },
  });
  process.stdout.write(describeStack(stack));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
