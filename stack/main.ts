/**
 * `npm start`: the whole stack on one host. Prints its URLs and which backends are real or
 * emulated; stops cleanly on SIGINT/SIGTERM.
 */
import { ConfigError } from '../shared/errors';
import { onShutdown } from '../shared/shutdown';
import { startLocalStack } from './local-stack';
import { describeStack } from './describe-stack';

async function main() {
  const stack = await startLocalStack();
  process.stdout.write(describeStack(stack));
  onShutdown(stack.logger, [{ name: 'stack', run: () => stack.close() }], 20_000);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
