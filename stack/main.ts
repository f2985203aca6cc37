/**
 * `npm start`: the whole stack on one host. Prints its URLs and which backends are real or
 * emulated; stops cleanly on SIGINT/SIGTERM.
 */
import { ConfigError } from '../shared/errors';
import { startLocalStack } from './local-stack';
import { describeStack } from './describe-stack';

async function main() {
  const stack = await startLocalStack();
  process.stdout.write(describeStack(stack));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    stack.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 20_000).unref();
    await stack.close();
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
